//! `ccis account add | list | remove`: the operator accounts of the
//! validators' pages (`accounts.toml` in the node directory). They take
//! effect at once, on a running node too: the server reads the file at
//! every login and page.

use crate::accounts::{AccountFile, AccountRole};
use crate::config::NodeConfig;
use anyhow::{Context, bail};
use clap::Subcommand;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

/// `ccis account …`.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add an operator account. The password is asked twice on a terminal,
    /// else read from the first line of standard input; only its Argon2id
    /// hash is stored.
    Add {
        /// The operator's name (letters, digits, '.', '-', '_'): the name the
        /// audit log and the four-eyes rule know them by.
        name: String,
        /// What they may do: `validator` (review and decide), `editor`
        /// (read the queue, never decide) or `admin` (everything).
        #[arg(long, default_value = "validator")]
        role: String,
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// List the accounts: name, role, when added.
    List {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Remove an account; its sessions end at their next request.
    Remove {
        /// The operator's name.
        name: String,
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

/// Runs `ccis account …`.
pub fn run(command: AccountCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match command {
        AccountCommand::Add { name, role, dir } => {
            NodeConfig::load(&dir)?;
            let Some(role) = AccountRole::parse(&role) else {
                bail!("no role {role:?}: choose validator, editor or admin");
            };
            let password = read_password()?;
            let account = AccountFile::of(&dir).add(&name, role, &password, &crate::node::now())?;
            writeln!(
                out,
                "added {} account {:?}: it logs in at /review/login",
                account.role.name(),
                account.name
            )?;
        }
        AccountCommand::List { dir } => {
            NodeConfig::load(&dir)?;
            let accounts = AccountFile::of(&dir).load()?;
            if accounts.accounts.is_empty() {
                writeln!(
                    out,
                    "no accounts; add one with `ccis account add NAME --role validator`"
                )?;
            }
            for a in &accounts.accounts {
                writeln!(out, "{}\t{}\t{}", a.name, a.role.name(), a.created)?;
            }
        }
        AccountCommand::Remove { name, dir } => {
            NodeConfig::load(&dir)?;
            let removed = AccountFile::of(&dir).remove(&name)?;
            writeln!(out, "removed account {:?}", removed.name)?;
        }
    }
    Ok(())
}

/// The password: asked twice without echo on a terminal, else the first
/// line of standard input.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password (12 characters or more): ")
            .context("reading the password")?;
        let again = rpassword::prompt_password("The same password again: ")
            .context("reading the password")?;
        if first != again {
            bail!("the two passwords differ; nothing was added");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
