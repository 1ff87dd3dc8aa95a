//! `ccis publish FILE…`.

use super::parse_format;
use crate::node::{Node, Outcome, Published};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `ccis publish`.
pub(super) fn cmd_publish(
    dir: &Path,
    format: Option<&str>,
    inputs: &[PathBuf],
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let node = Node::open_for(dir, "`ccis publish`")?;
    let format = parse_format(format)?;
    let records = node.read_records(inputs, format)?;
    for p in node.publish(records)? {
        print_published(&p, out)?;
    }
    Ok(())
}

fn print_published(p: &Published, out: &mut impl Write) -> anyhow::Result<()> {
    let what = match p.outcome {
        Outcome::Created => "created",
        Outcome::Updated => "updated",
        Outcome::Unchanged => "unchanged",
        Outcome::Withdrawn => "withdrawn",
    };
    writeln!(out, "{what:<9} v{:<3} {}", p.version, p.iri)?;
    Ok(())
}
