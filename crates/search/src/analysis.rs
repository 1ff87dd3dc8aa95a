//! Language-aware analysis: which analyser reads text in which language.
//!
//! Every analyser splits text on anything that is not a letter or a digit,
//! drops tokens longer than [`MAX_TOKEN_BYTES`] and lowercases. Then:
//!
//! - languages tantivy has a Snowball stemmer for (Danish, Dutch, English,
//!   Finnish, French, German, Greek, Hungarian, Italian, Portuguese, Romanian,
//!   Spanish, Swedish) are stemmed, so `tools` finds `tool` and `outils`
//!   finds `outil`; then folded to ASCII (`évaluer` and `evaluer` meet),
//!   except Greek, which keeps its script;
//! - every other language, Latvian and Lithuanian first, and text without a
//!   language tag, is folded to ASCII without stemming (`sociālajiem` is
//!   found by `socialajiem` and by `sociālajiem`), since there is no stemmer
//!   for it: inflected forms of one word do not meet (`uzņēmums` does not
//!   find `uzņēmumiem`). Folding is the one step that is right for every
//!   Latin-script language and never joins two words a reader would keep
//!   apart in a catalogue this size.

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer, TokenStream,
};

/// Longest token indexed, in bytes; longer ones are dropped.
pub const MAX_TOKEN_BYTES: usize = 40;

/// The analysers, by the name their fields carry: `(name, stemmer)`. The
/// name is the ISO 639-1 code of the language, or `folded`.
pub const ANALYSERS: &[(&str, Option<Language>)] = &[
    ("da", Some(Language::Danish)),
    ("de", Some(Language::German)),
    ("el", Some(Language::Greek)),
    ("en", Some(Language::English)),
    ("es", Some(Language::Spanish)),
    ("fi", Some(Language::Finnish)),
    ("fr", Some(Language::French)),
    ("hu", Some(Language::Hungarian)),
    ("it", Some(Language::Italian)),
    ("nl", Some(Language::Dutch)),
    ("pt", Some(Language::Portuguese)),
    ("ro", Some(Language::Romanian)),
    ("sv", Some(Language::Swedish)),
    (FOLDED, None),
];

/// The analyser for languages without a stemmer (Latvian, Lithuanian, …).
pub const FOLDED: &str = "folded";

/// The analyser that reads text tagged `tag` (BCP 47: `fr`, `fr-BE`, `LV`).
pub fn analyser_for(tag: &str) -> &'static str {
    let primary = tag
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    ANALYSERS
        .iter()
        .map(|(name, _)| *name)
        .find(|name| *name == primary)
        .unwrap_or(FOLDED)
}

/// The tokenizer name an analyser is registered under in the index.
pub fn tokenizer_name(analyser: &str) -> String {
    format!("ccis_{analyser}")
}

/// The text analyser called `name` (one of [`ANALYSERS`]).
pub fn analyser(name: &str) -> TextAnalyzer {
    let stemmer = ANALYSERS
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, s)| *s);
    let base = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser);
    match stemmer {
        Some(Language::Greek) => base.filter(Stemmer::new(Language::Greek)).build(),
        Some(language) => base
            .filter(Stemmer::new(language))
            .filter(AsciiFoldingFilter)
            .build(),
        None => base.filter(AsciiFoldingFilter).build(),
    }
}

/// The terms `text` gives under analyser `name`, in order.
pub fn terms(name: &str, text: &str) -> Vec<String> {
    let mut analyser = analyser(name);
    let mut stream = analyser.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// Registers every analyser with an index.
pub(crate) fn register(index: &tantivy::Index) {
    for (name, _) in ANALYSERS {
        index
            .tokenizers()
            .register(&tokenizer_name(name), analyser(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stemmers_join_inflected_forms() {
        assert_eq!(terms("en", "tools"), terms("en", "tool"));
        assert_eq!(terms("fr", "outils"), terms("fr", "outil"));
        assert_eq!(terms("sv", "verktygen"), terms("sv", "verktyg"));
        assert_eq!(terms("es", "guías"), terms("es", "guía"));
    }

    #[test]
    fn stemmed_languages_fold_accents_greek_keeps_its_script() {
        assert_eq!(terms("fr", "Évaluer"), terms("fr", "evaluer"));
        let greek = terms("el", "καινοτομία");
        assert!(greek[0].chars().all(|c| !c.is_ascii()), "{greek:?}");
    }

    #[test]
    fn latvian_and_lithuanian_are_lowercased_and_folded() {
        assert_eq!(analyser_for("lv"), FOLDED);
        assert_eq!(analyser_for("lt"), FOLDED);
        assert_eq!(
            terms(FOLDED, "Sociālajiem Uzņēmumiem"),
            ["socialajiem", "uznemumiem"]
        );
        assert_eq!(
            terms(FOLDED, "Socialinių inovacijų"),
            ["socialiniu", "inovaciju"]
        );
        // No stemming: only the same inflected form meets.
        assert_ne!(terms(FOLDED, "uzņēmums"), terms(FOLDED, "uzņēmumiem"));
    }

    #[test]
    fn tags_choose_analysers_by_primary_subtag() {
        assert_eq!(analyser_for("fr-BE"), "fr");
        assert_eq!(analyser_for("EN"), "en");
        assert_eq!(analyser_for("pl"), FOLDED);
        assert_eq!(analyser_for(""), FOLDED);
    }

    #[test]
    fn overlong_tokens_are_dropped() {
        let long = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(terms("en", &long).is_empty());
    }
}
