//! `ccis publish FILE|DIR…`: files as given, directories as their record
//! files in name order; with a directory, every file is read and checked
//! before anything is published, and each bad file is named.

use super::parse_format;
use crate::node::{Node, NodeError, Outcome, Published};
use crate::rdf_input::InputFormat;
use crate::record::Record;
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Extensions of the files a directory is published by (any case).
pub(super) const RECORD_EXTENSIONS: &[&str] = &["ttl", "nt", "nq", "trig", "jsonld", "json"];

/// `ccis publish`.
pub(super) fn cmd_publish(
    dir: &Path,
    format: Option<&str>,
    inputs: &[PathBuf],
    operator: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let node = Node::open_for(dir, "`ccis publish`")?;
    let format = parse_format(format)?;
    if !inputs.iter().any(|p| p.is_dir()) {
        let records = node.read_records(inputs, format)?;
        let notes = english_title_notes(&records);
        let published = node.publish(records)?;
        if let Some(operator) = operator {
            node.audit(operator, "publish", &published)?;
        }
        for p in published {
            print_published(&p, None, out)?;
        }
        return print_notes(&notes, out);
    }
    let files = expand(inputs)?;
    let batches = read_all(&node, &files, format)?;
    let mut owners: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut order = Vec::new();
    let mut records = Vec::new();
    for (file, found) in batches {
        for r in found {
            owners.insert(r.iri.as_str().to_owned(), file.clone());
            order.push(file.clone());
            records.push(r);
        }
    }
    let notes = english_title_notes(&records);
    let published = node.publish(records).map_err(|e| name_files(e, &owners))?;
    if let Some(operator) = operator {
        node.audit(operator, "publish", &published)?;
    }
    for (p, file) in published.iter().zip(&order) {
        print_published(p, Some(file), out)?;
    }
    let count = |o: Outcome| published.iter().filter(|p| p.outcome == o).count();
    writeln!(
        out,
        "{} file(s), {} record(s): {} created, {} updated, {} unchanged",
        files.len(),
        published.len(),
        count(Outcome::Created),
        count(Outcome::Updated),
        count(Outcome::Unchanged)
    )?;
    print_notes(&notes, out)
}

/// Records without an English title are published as they are (a record
/// never has to be translated); the note says what that means for them.
fn english_title_notes(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter(|r| !r.is_withdrawn())
        .filter_map(|r| {
            let languages = r.title_languages();
            let english = languages
                .iter()
                .any(|l| l.eq_ignore_ascii_case("en") || l.to_ascii_lowercase().starts_with("en-"));
            (!english && !languages.is_empty()).then(|| {
                format!(
                    "note: <{}> has no English (@en) title; it is published with its titles in \
                     {}, which every catalogue shows; add an @en title for readers of other \
                     languages to find it by title",
                    r.iri.as_str(),
                    languages.join(", ")
                )
            })
        })
        .collect()
}

fn print_notes(notes: &[String], out: &mut impl Write) -> anyhow::Result<()> {
    for note in notes {
        writeln!(out, "{note}")?;
    }
    Ok(())
}

fn print_published(p: &Published, file: Option<&Path>, out: &mut impl Write) -> anyhow::Result<()> {
    let what = match p.outcome {
        Outcome::Created => "created",
        Outcome::Updated => "updated",
        Outcome::Unchanged => "unchanged",
        Outcome::Withdrawn => "withdrawn",
    };
    match file {
        None => writeln!(out, "{what:<9} v{:<3} {}", p.version, p.iri)?,
        Some(f) => writeln!(
            out,
            "{what:<9} v{:<3} {}  ({})",
            p.version,
            p.iri,
            f.display()
        )?,
    }
    Ok(())
}

/// Whether a file is one a directory is published by.
fn is_record_file(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_none_or(|n| n.starts_with('.'));
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    !hidden && path.is_file() && ext.is_some_and(|e| RECORD_EXTENSIONS.contains(&e.as_str()))
}

/// The files to publish: each file as given, each directory's record files
/// sorted by name; a path given twice is read once.
fn expand(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            if !files.contains(input) {
                files.push(input.clone());
            }
            continue;
        }
        let mut found = Vec::new();
        for entry in std::fs::read_dir(input)
            .with_context(|| format!("cannot read directory {}", input.display()))?
        {
            let path = entry
                .with_context(|| format!("cannot read directory {}", input.display()))?
                .path();
            if is_record_file(&path) && !files.contains(&path) {
                found.push(path);
            }
        }
        if found.is_empty() {
            bail!(
                "{} holds no record file (.{}); nothing was stored",
                input.display(),
                RECORD_EXTENSIONS.join(" .")
            );
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// A problem with a file, starting with the file's name (once).
fn named(file: &Path, message: &str) -> String {
    let name = file.display().to_string();
    if message.starts_with(&name) {
        message.to_owned()
    } else {
        format!("{name}: {message}")
    }
}

/// Reads every file; refuses them all, naming each bad one, if any is bad.
fn read_all(
    node: &Node,
    files: &[PathBuf],
    format: Option<InputFormat>,
) -> anyhow::Result<Vec<(PathBuf, Vec<Record>)>> {
    let mut problems = Vec::new();
    let mut batches = Vec::new();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for file in files {
        match node.read_records(std::slice::from_ref(file), format) {
            Err(e) => problems.push(named(file, &format!("{e:#}"))),
            Ok(records) if records.is_empty() => problems.push(named(file, "no record in it")),
            Ok(records) => {
                for r in &records {
                    if let Some(other) = seen.insert(r.iri.as_str().to_owned(), file.clone()) {
                        problems.push(named(
                            file,
                            &format!("record <{}> is also in {}", r.iri.as_str(), other.display()),
                        ));
                    }
                }
                batches.push((file.clone(), records));
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "nothing was stored; fix these files and publish again:\n{}",
            indent(&problems)
        );
    }
    Ok(batches)
}

fn indent(problems: &[String]) -> String {
    problems
        .iter()
        .map(|p| format!("  {}", p.replace('\n', "\n  ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Puts the file of each refused record in front of its problem.
fn name_files(error: NodeError, owners: &BTreeMap<String, PathBuf>) -> anyhow::Error {
    let NodeError::Refused(refused) = &error else {
        return error.into();
    };
    let problems: Vec<String> = refused
        .problems
        .iter()
        .map(|p| {
            let iri = p
                .split_once('<')
                .and_then(|(_, rest)| rest.split_once('>'))
                .map(|(iri, _)| iri);
            match iri.and_then(|i| owners.get(i)) {
                Some(file) => named(file, p),
                None => p.clone(),
            }
        })
        .collect();
    anyhow::anyhow!(
        "nothing was stored; fix these files and publish again:\n{}",
        indent(&problems)
    )
}
