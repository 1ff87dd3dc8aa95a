//! `ccis submission list | show | erase | accept | reject`: the initiatives
//! proposed through `/submit` and `/api/submissions`, kept private in the
//! node directory until the operator accepts them.

use crate::config::{NodeConfig, NodeDir};
use crate::node::Node;
use crate::submissions::{self, Submission, SubmissionStore};
use clap::Subcommand;
use std::io::Write;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// `ccis submission …`.
#[derive(Debug, Subcommand)]
pub enum SubmissionCommand {
    /// List the pending submissions: id, age, title, organisation (after
    /// deleting those older than `[submissions] expire_days`).
    List {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Also show each submitter's name and e-mail address (personal data).
        #[arg(long)]
        contacts: bool,
    },
    /// Show one submission: its proposal as Turtle and its submitter's contact.
    Show {
        /// The submission id.
        id: String,
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Erase the submitter's personal data (name, e-mail); the proposal is
    /// kept. For a submission already accepted, deletes the contact kept to
    /// e-mail the submitter the decisions (`[mail]`).
    Erase {
        /// The submission id.
        id: String,
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Publish the proposal as this node's own signed record (validated,
    /// versioned and signed like `ccis publish`), without the submitter's
    /// contact, then delete the submission. Needs the node's lock: stop
    /// `ccis serve` first. With `[mail]`, the submitter is e-mailed the
    /// record's URL, and their contact is kept apart (until `erase` or
    /// `[submissions] expire_days`) to e-mail them the decisions about it.
    Accept {
        /// The submission id.
        id: String,
        /// The record's slug: {base-url}/records/{slug} (default: the one
        /// proposed, else one made from the title).
        #[arg(long)]
        slug: Option<String>,
        /// The operator accepting it, written to the audit log (the
        /// four-eyes rule keeps them from deciding on it).
        #[arg(long, env = "CCIS_OPERATOR")]
        operator: Option<String>,
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Delete a submission, proposal and contact (with `[mail]`, the
    /// submitter is told first).
    Reject {
        /// The submission id.
        id: String,
        /// Why, told to the submitter by e-mail (with `[mail]`).
        #[arg(long)]
        reason: Option<String>,
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

/// Runs `ccis submission …`.
pub(super) fn run(command: SubmissionCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match command {
        SubmissionCommand::List { dir, contacts } => cmd_list(&dir, contacts, out),
        SubmissionCommand::Show { id, dir } => cmd_show(&dir, &id, out),
        SubmissionCommand::Erase { id, dir } => cmd_erase(&dir, &id, out),
        SubmissionCommand::Accept {
            id,
            slug,
            operator,
            dir,
        } => cmd_accept(&dir, &id, slug.as_deref(), operator.as_deref(), out),
        SubmissionCommand::Reject { id, reason, dir } => {
            cmd_reject(&dir, &id, reason.as_deref(), out)
        }
    }
}

/// The node's submissions, the expired ones deleted first.
fn open(dir: &Path, out: &mut impl Write) -> anyhow::Result<(NodeConfig, SubmissionStore)> {
    let config = NodeConfig::load(dir)?;
    let store = SubmissionStore::new(NodeDir::new(dir).submissions());
    let expired = store.expire(config.submissions.expire_days, OffsetDateTime::now_utc())?;
    if !expired.is_empty() {
        writeln!(
            out,
            "deleted {} submission(s) older than {} day(s) (submissions.expire_days): {}",
            expired.len(),
            config.submissions.expire_days,
            expired.join(", ")
        )?;
    }
    let forgotten =
        store.expire_accepted(config.submissions.expire_days, OffsetDateTime::now_utc())?;
    if !forgotten.is_empty() {
        writeln!(
            out,
            "deleted the contacts of {} submission(s) accepted more than {} day(s) ago (submissions.expire_days): {}",
            forgotten.len(),
            config.submissions.expire_days,
            forgotten.join(", ")
        )?;
    }
    Ok((config, store))
}

fn contact_line(s: &Submission) -> String {
    match (&s.contact, &s.erased_at) {
        (Some(c), _) => format!("{} <{}>", c.name, c.email),
        (None, Some(at)) => format!("(erased {at})"),
        (None, None) => "(none)".to_owned(),
    }
}

/// `ccis submission list`.
fn cmd_list(dir: &Path, contacts: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let (_, store) = open(dir, out)?;
    let all = store.list()?;
    if all.is_empty() {
        writeln!(out, "no pending submission")?;
        return Ok(());
    }
    let now = OffsetDateTime::now_utc();
    writeln!(
        out,
        "{:<16}  {:>5}  {:<40}  organisation",
        "id", "age", "title"
    )?;
    for s in &all {
        write!(
            out,
            "{:<16}  {:>4}d  {:<40}  {}",
            s.id,
            s.age_days(now),
            s.title,
            s.organisation.as_deref().unwrap_or("-")
        )?;
        if contacts {
            write!(out, "  {}", contact_line(s))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "{} pending submission(s)", all.len())?;
    Ok(())
}

/// `ccis submission show`.
fn cmd_show(dir: &Path, id: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let (_, store) = open(dir, out)?;
    let s = store.get(id)?;
    writeln!(out, "id           {}", s.id)?;
    writeln!(out, "received     {}", s.received_at)?;
    writeln!(out, "title        {}", s.title)?;
    writeln!(
        out,
        "organisation {}",
        s.organisation.as_deref().unwrap_or("-")
    )?;
    writeln!(out, "slug         {}", s.slug.as_deref().unwrap_or("-"))?;
    writeln!(out, "contact      {}", contact_line(&s))?;
    writeln!(out)?;
    out.write_all(s.turtle.as_bytes())?;
    Ok(())
}

/// `ccis submission erase`.
fn cmd_erase(dir: &Path, id: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let (_, store) = open(dir, out)?;
    match store.erase_contact(id, OffsetDateTime::now_utc()) {
        Err(submissions::SubmissionError::NotFound(_)) => {
            store.erase_accepted(id)?;
            writeln!(
                out,
                "erased the name and e-mail address of the submitter of accepted submission {id}"
            )?;
            return Ok(());
        }
        other => other?,
    };
    writeln!(
        out,
        "erased the submitter's name and e-mail address from submission {id}; the proposal is kept"
    )?;
    Ok(())
}

/// `ccis submission accept`.
fn cmd_accept(
    dir: &Path,
    id: &str,
    slug: Option<&str>,
    operator: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (_, store) = open(dir, out)?;
    let node = Node::open_for(dir, "`ccis submission accept`")?;
    let published = submissions::accept(&node, &store, id, slug)?;
    if let Some(operator) = operator {
        node.audit(
            operator,
            "accept-submission",
            std::slice::from_ref(&published),
        )?;
    }
    writeln!(
        out,
        "published v{} {} (without the submitter's contact); submission {id} deleted",
        published.version, published.iri
    )?;
    if store.accepted_as(&published.iri)?.is_some() {
        writeln!(
            out,
            "the submitter's contact is kept apart to e-mail them the decisions about it (`ccis submission erase {id}` deletes it)"
        )?;
    }
    Ok(())
}

/// `ccis submission reject`.
fn cmd_reject(
    dir: &Path,
    id: &str,
    reason: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (config, store) = open(dir, out)?;
    submissions::reject(&config, &store, id, reason)?;
    writeln!(out, "deleted submission {id}, its proposal and its contact")?;
    Ok(())
}
