//! Shell completions and manual pages, both generated from the clap definition so they never
//! drift from the real command line. `systemd/install.sh` installs them.

use std::path::Path;

use clap::CommandFactory;

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

pub fn completions(shell: Shell) -> Result<(), String> {
    let mut cmd = super::Cli::command();
    let sh = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(sh, &mut cmd, "gatehouse", &mut std::io::stdout());
    Ok(())
}

/// `gatehouse.1` on stdout, or every page (gatehouse.1, gatehouse-user.1, gatehouse-user-add.1
/// ...) into `dir`.
pub fn man(dir: Option<&Path>) -> Result<(), String> {
    let cmd = super::Cli::command();
    match dir {
        None => clap_mangen::Man::new(cmd)
            .render(&mut std::io::stdout())
            .map_err(|e| e.to_string()),
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let mut written = Vec::new();
            write_pages(cmd, "gatehouse", dir, &mut written)?;
            eprintln!(
                "{} manual pages written to {}",
                written.len(),
                dir.display()
            );
            Ok(())
        }
    }
}

fn write_pages(
    cmd: clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<String>,
) -> Result<(), String> {
    // clap names are &'static without its "string" feature; a one-shot command may leak them.
    let cmd = cmd.name(&*Box::leak(name.to_string().into_boxed_str()));
    let file = dir.join(format!("{name}.1"));
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut out)
        .map_err(|e| e.to_string())?;
    std::fs::write(&file, out).map_err(|e| format!("{}: {e}", file.display()))?;
    written.push(name.to_string());
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let sub_name = format!("{name}-{}", sub.get_name());
        write_pages(sub.clone(), &sub_name, dir, written)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Technicians read `--help` and the man page: every command and argument explains itself.
    fn undocumented(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") || arg.is_hide_set() {
                continue;
            }
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                out.push(format!("{path} <{id}>"));
            }
        }
        for sub in cmd.get_subcommands() {
            let p = format!("{path} {}", sub.get_name());
            if sub.get_about().is_none() && sub.get_long_about().is_none() {
                out.push(p.clone());
            }
            undocumented(sub, &p, out);
        }
    }

    #[test]
    fn every_command_and_argument_has_help_text() {
        let mut missing = Vec::new();
        undocumented(&super::super::Cli::command(), "gatehouse", &mut missing);
        assert!(missing.is_empty(), "without help text: {missing:#?}");
    }
}
