//! The index schema: one document per record, its facets as raw strings
//! (indexed, fast, stored), its text in one title and one body field per
//! analyser, and what a result list shows, stored.

use crate::analysis::{ANALYSERS, tokenizer_name};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

/// The version of this schema and of what goes into it. An index written
/// with another version is rebuilt from the store when it is opened.
pub const SCHEMA_VERSION: u32 = 1;

/// The facets a search can select and count. Values are IRIs, except
/// [`Facet::Language`] (BCP 47 primary subtags: `fr`, `lv`) and
/// [`Facet::Origin`] (the origin centre's id, as `peers.toml` names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Facet {
    /// The record class: `ccis:Tool`, `ccis:Practice`, `ccis:SupportProgramme`…
    RecordType,
    /// `ccis:toolType` (guide, case study, directory…).
    ToolType,
    /// `dct:spatial`: EU authority-table countries.
    Country,
    /// `dct:subject`: themes.
    Theme,
    /// `dct:audience`.
    Audience,
    /// `ccis:stage`: life-cycle stage (emergence, consolidation, scaling).
    Stage,
    /// The languages its titles and descriptions are available in.
    Language,
    /// The centre that originated it.
    Origin,
}

impl Facet {
    /// Every facet, in the order results list them.
    pub const ALL: [Facet; 8] = [
        Facet::RecordType,
        Facet::ToolType,
        Facet::Country,
        Facet::Theme,
        Facet::Audience,
        Facet::Stage,
        Facet::Language,
        Facet::Origin,
    ];

    /// Its name: the index field, and a good URL parameter.
    pub fn name(self) -> &'static str {
        match self {
            Facet::RecordType => "type",
            Facet::ToolType => "tool_type",
            Facet::Country => "country",
            Facet::Theme => "theme",
            Facet::Audience => "audience",
            Facet::Stage => "stage",
            Facet::Language => "language",
            Facet::Origin => "origin",
        }
    }

    /// The facet called `name` ([`Facet::name`]).
    pub fn from_name(name: &str) -> Option<Facet> {
        Facet::ALL.into_iter().find(|f| f.name() == name)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// The fields of the schema.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub iri: Field,
    pub withdrawn: Field,
    pub modified: Field,
    pub modified_ts: Field,
    pub version: Field,
    pub facets: [Field; 8],
    /// `(analyser, title field, body field)`.
    pub text: Vec<(&'static str, Field, Field)>,
    pub titles: Field,
    pub descriptions: Field,
}

impl Fields {
    /// The title and body fields of `analyser`.
    pub fn text_of(&self, analyser: &str) -> Option<(Field, Field)> {
        self.text
            .iter()
            .find(|(a, _, _)| *a == analyser)
            .map(|(_, t, b)| (*t, *b))
    }
}

/// The schema and its fields.
pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let iri = b.add_text_field("iri", STRING | STORED);
    let withdrawn = b.add_bool_field("withdrawn", INDEXED | FAST | STORED);
    let modified = b.add_text_field("modified", STORED);
    let modified_ts = b.add_i64_field("modified_ts", INDEXED | FAST);
    let version = b.add_u64_field("version", STORED);
    let facets = Facet::ALL.map(|f| b.add_text_field(f.name(), STRING | FAST | STORED));
    let mut text = Vec::new();
    for (analyser, _) in ANALYSERS {
        let options = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(&tokenizer_name(analyser))
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let title = b.add_text_field(&format!("title_{analyser}"), options.clone());
        let body = b.add_text_field(&format!("body_{analyser}"), options);
        text.push((*analyser, title, body));
    }
    let titles = b.add_text_field("titles", STORED);
    let descriptions = b.add_text_field("descriptions", STORED);
    let fields = Fields {
        iri,
        withdrawn,
        modified,
        modified_ts,
        version,
        facets,
        text,
        titles,
        descriptions,
    };
    (b.build(), fields)
}
