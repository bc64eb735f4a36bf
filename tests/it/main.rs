//! Black-box tests: the real binary on an ephemeral port, spoken to over HTTP. One test binary
//! (faster to link on 2 cores), one module per capability.

mod harness;

mod appliance;
mod attendance;
mod cli;
mod console;
mod console_accounts;
mod console_api;
mod console_days;
mod console_desk;
mod console_print;
mod console_screens;
mod console_tmux;
mod console_tmux_desk;
mod crash;
mod diskfull;
mod engine;
mod estate;
mod foundation;
mod fuzzing;
mod gatepass;
mod hardening;
mod hr;
mod identity;
mod pg;
mod power;
mod reads;
mod roles;
mod scale;
mod stalled;
mod terminals;
mod upstream;
mod work;
