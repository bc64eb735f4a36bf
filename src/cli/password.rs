//! Passwords for `user add` and `user reset-password` without putting them on the command line
//! (where `ps` and the shell history would keep them): asked on the terminal without echo, or
//! read from standard input with `--password-stdin` for scripts.

use std::io::{IsTerminal, Read};

use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct PasswordArgs {
    /// Read the password from standard input (one line; for scripts).
    #[arg(long, conflicts_with = "password")]
    pub password_stdin: bool,
    /// The password on the command line (visible to `ps` and kept in shell history: prefer
    /// being asked, or --password-stdin).
    #[arg(long)]
    pub password: Option<String>,
}

impl PasswordArgs {
    /// The password from the flag, standard input, or the terminal (asked twice).
    pub fn read(self, what: &str) -> Result<String, String> {
        if let Some(p) = self.password {
            return Ok(p);
        }
        if self.password_stdin {
            let mut s = String::new();
            std::io::stdin()
                .take(4096)
                .read_to_string(&mut s)
                .map_err(|e| format!("reading the password from standard input: {e}"))?;
            let p = strip_line_end(&s);
            if p.is_empty() {
                return Err("--password-stdin: standard input held no password".into());
            }
            return Ok(p.to_string());
        }
        if !std::io::stdin().is_terminal() {
            return Err(
                "no password given and no terminal to ask on: pipe it in with --password-stdin \
                 (e.g. `printf '%s\\n' \"$PW\" | gatehouse user add ... --password-stdin`)"
                    .into(),
            );
        }
        let first = rpassword::prompt_password(format!("{what}: "))
            .map_err(|e| format!("reading the password: {e}"))?;
        if first.is_empty() {
            return Err("no password typed".into());
        }
        let again = rpassword::prompt_password("again, to confirm: ")
            .map_err(|e| format!("reading the password: {e}"))?;
        if again != first {
            return Err("the two passwords differ; nothing was changed".into());
        }
        Ok(first)
    }
}

/// One line of input without its line end (`\n` or `\r\n`); inner spaces are kept.
fn strip_line_end(s: &str) -> &str {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.strip_suffix('\r').unwrap_or(s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_line_end_is_stripped() {
        assert_eq!(super::strip_line_end("pa ss \r\n"), "pa ss ");
        assert_eq!(super::strip_line_end("secret\n"), "secret");
        assert_eq!(super::strip_line_end("secret"), "secret");
    }
}
