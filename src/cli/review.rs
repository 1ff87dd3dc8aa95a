//! `ccis review list | show | decide`: the validators' side of the
//! validation workflow in the command line.

use crate::node::Node;
use anyhow::{Context, bail};
use ccis_model::checklist::Texts;
use ccis_model::decision::CriterionOutcome;
use ccis_model::workflow::{DecisionStatus, Outcome, State};
use ccis_node::validation::{DecisionRequest, InitiativeState, criterion_name};
use clap::{Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

/// `ccis review …`.
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// The initiatives this node holds, with their derived state; by default
    /// only those awaiting this node's decision (its queue).
    List {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Every initiative, not only the queue.
        #[arg(long)]
        all: bool,
    },
    /// One initiative: its state, its version and digest, the decisions held
    /// about it, and the criteria of the checklist.
    Show {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The initiative's IRI.
        iri: String,
    },
    /// Sign and publish a decision about the initiative's current version.
    Decide {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The initiative's IRI.
        iri: String,
        /// The outcome.
        #[arg(long, value_enum)]
        outcome: OutcomeArg,
        /// Why (the rationale), in the language of --lang.
        #[arg(long)]
        rationale: String,
        /// The language of the rationale and the comments.
        #[arg(long, default_value = "en")]
        lang: String,
        /// The checklist followed: sim (default) or csess, or its IRI.
        #[arg(long)]
        checklist: Option<String>,
        /// One criterion's assessment: NAME=passed|failed|cant-tell[:comment];
        /// repeat for every criterion of the checklist.
        #[arg(long = "assess", value_name = "CRITERION=OUTCOME[:COMMENT]")]
        assess: Vec<String>,
        /// The deciding operator (four eyes: not one who published or edited
        /// the initiative on this node).
        #[arg(long, env = "CCIS_OPERATOR")]
        operator: String,
    },
}

/// A decision's outcome.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutcomeArg {
    /// Validated.
    Validated,
    /// Changes requested.
    ChangesRequested,
    /// Rejected.
    Rejected,
}

impl From<OutcomeArg> for Outcome {
    fn from(o: OutcomeArg) -> Self {
        match o {
            OutcomeArg::Validated => Outcome::Validated,
            OutcomeArg::ChangesRequested => Outcome::ChangesRequested,
            OutcomeArg::Rejected => Outcome::Rejected,
        }
    }
}

/// Runs a `ccis review` command.
pub(super) fn run(command: ReviewCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match command {
        ReviewCommand::List { dir, all } => {
            let node = Node::open_read_only(&dir)?;
            list(&node, all, out)
        }
        ReviewCommand::Show { dir, iri } => {
            let node = Node::open_read_only(&dir)?;
            show(&node, &node.initiative(&iri)?, out)
        }
        ReviewCommand::Decide {
            dir,
            iri,
            outcome,
            rationale,
            lang,
            checklist,
            assess,
            operator,
        } => {
            let node = Node::open_for(&dir, "`ccis review decide`")?;
            let request = DecisionRequest {
                initiative: iri,
                outcome: outcome.into(),
                rationale: Texts::from([(lang.clone(), rationale)]),
                checklist,
                assessments: assess
                    .iter()
                    .map(|a| parse_assessment(a, &lang))
                    .collect::<anyhow::Result<_>>()?,
                operator,
                version: None,
            };
            let (published, after) = node.decide(&request)?;
            writeln!(
                out,
                "signed {} decision <{}> (version {}) about version {} of <{}>",
                node.validator_role().notation(),
                published.iri,
                published.version,
                after.version,
                after.iri
            )?;
            writeln!(out, "state of <{}>: {}", after.iri, after.state)?;
            Ok(())
        }
    }
}

/// `NAME=OUTCOME[:COMMENT]`.
fn parse_assessment(text: &str, lang: &str) -> anyhow::Result<(String, CriterionOutcome, Texts)> {
    let (name, rest) = text
        .split_once('=')
        .with_context(|| format!("--assess {text:?}: write CRITERION=passed|failed|cant-tell"))?;
    let (outcome, comment) = rest.split_once(':').unwrap_or((rest, ""));
    let outcome = match outcome.trim() {
        "passed" => CriterionOutcome::Passed,
        "failed" => CriterionOutcome::Failed,
        "cant-tell" | "cannot-tell" => CriterionOutcome::CantTell,
        other => bail!("--assess {text:?}: {other:?} is not passed, failed or cant-tell"),
    };
    let mut comments = Texts::new();
    if !comment.trim().is_empty() {
        comments.insert(lang.to_owned(), comment.trim().to_owned());
    }
    Ok((name.trim().to_owned(), outcome, comments))
}

fn list(node: &Node, all: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let role = node.validator_role();
    let own_country = node.config.country.to_ascii_uppercase();
    let shown: Vec<InitiativeState> = node
        .initiatives()?
        .into_iter()
        .filter(|i| {
            all || (i.awaits(role)
                && (role == ccis_model::workflow::Role::European || i.country == own_country))
        })
        .collect();
    if shown.is_empty() {
        writeln!(
            out,
            "{}",
            if all {
                "no initiatives held"
            } else {
                "no initiative awaits this node's decision (--all lists every initiative)"
            }
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<21} {:<13} {:<3} {:>3} {:>5}  initiative",
        "state", "level", "cc", "v", "days"
    )?;
    let today = time::OffsetDateTime::now_utc();
    for i in &shown {
        let days = time::OffsetDateTime::parse(
            &i.modified,
            &time::format_description::well_known::Rfc3339,
        )
        .map(|m| (today - m).whole_days().to_string())
        .unwrap_or_else(|_| "?".into());
        writeln!(
            out,
            "{:<21} {:<13} {:<3} {:>3} {:>5}  <{}> {}",
            i.state.notation(),
            i.level.notation(),
            i.country,
            i.version,
            days,
            i.iri,
            i.title.as_deref().unwrap_or("")
        )?;
    }
    Ok(())
}

fn show(node: &Node, i: &InitiativeState, out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(out, "<{}>", i.iri)?;
    writeln!(out, "  title:   {}", i.title.as_deref().unwrap_or("(none)"))?;
    writeln!(out, "  origin:  {} ({})", i.origin, i.country)?;
    writeln!(out, "  level:   {}", i.level)?;
    writeln!(out, "  version: {} of {}", i.version, i.modified)?;
    writeln!(out, "  digest:  {}", i.digest)?;
    writeln!(out, "  state:   {}", i.state)?;
    let allowed = ccis_model::workflow::allowed_events(i.state, i.level);
    writeln!(
        out,
        "  next:    {}",
        allowed
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    if i.state != State::Withdrawn {
        writeln!(
            out,
            "  awaits this node ({}): {}",
            node.validator_role().notation(),
            if i.awaits(node.validator_role()) {
                "yes"
            } else {
                "no"
            }
        )?;
    }
    writeln!(out, "decisions:")?;
    if i.decisions.is_empty() {
        writeln!(out, "  none")?;
    }
    for h in &i.decisions {
        let d = &h.decision;
        let status = match &h.status {
            DecisionStatus::Applies => "applies".to_owned(),
            DecisionStatus::AboutOlderVersion => format!(
                "about an older version (version {}), not the current one",
                d.used.version
            ),
            DecisionStatus::OtherInitiative => "about another initiative".to_owned(),
            DecisionStatus::Refused(e) => format!("not applied: {e}"),
        };
        writeln!(
            out,
            "  <{}> {} {} by <{}> at {}: {}",
            d.iri.as_str(),
            d.role.notation(),
            d.outcome.notation(),
            d.validator.as_str(),
            d.ended_at,
            status
        )?;
    }
    let checklists = node.checklists()?;
    for c in &checklists {
        writeln!(
            out,
            "checklist {} (<{}>):",
            c.labels.get("en").map_or(c.iri.as_str(), String::as_str),
            c.iri
        )?;
        for criterion in &c.criteria {
            writeln!(
                out,
                "  --assess {}=passed|failed|cant-tell   {}",
                criterion_name(&criterion.iri),
                criterion.labels.get("en").map_or("", String::as_str)
            )?;
        }
    }
    Ok(())
}
