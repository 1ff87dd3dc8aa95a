//! Interface strings in Project Fluent message catalogues
//! (`crates/server/locales/{lang}.ftl`, built into the binary), and the
//! choice of the interface language: `?lang=`, else `Accept-Language`, else
//! English.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::OnceLock;
use unic_langid::LanguageIdentifier;

/// The interface languages, English first (the fallback).
pub const LANGUAGES: [&str; 6] = ["en", "fr", "es", "sv", "lv", "lt"];

/// The catalogues' sources, by language.
const SOURCES: [(&str, &str); 6] = [
    ("en", include_str!("../../locales/en.ftl")),
    ("fr", include_str!("../../locales/fr.ftl")),
    ("es", include_str!("../../locales/es.ftl")),
    ("sv", include_str!("../../locales/sv.ftl")),
    ("lv", include_str!("../../locales/lv.ftl")),
    ("lt", include_str!("../../locales/lt.ftl")),
];

type Bundle = FluentBundle<FluentResource>;

/// Every catalogue, parsed once.
fn bundles() -> &'static [(&'static str, Bundle)] {
    static BUNDLES: OnceLock<Vec<(&'static str, Bundle)>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(lang, source)| (*lang, bundle(lang, source)))
            .collect()
    })
}

/// The bundle of one catalogue; its faults are logged, the messages read kept.
fn bundle(lang: &str, source: &str) -> Bundle {
    let id: LanguageIdentifier = lang.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: the pages set `lang`/`dir`.
    bundle.set_use_isolating(false);
    let resource =
        FluentResource::try_new(source.to_owned()).unwrap_or_else(|(partial, errors)| {
            tracing::error!(lang, ?errors, "faults in a message catalogue");
            partial
        });
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::error!(lang, ?errors, "duplicate messages in a catalogue");
    }
    bundle
}

fn bundle_of(lang: &str) -> Option<&'static Bundle> {
    bundles().iter().find(|(l, _)| *l == lang).map(|(_, b)| b)
}

/// The message ids of a catalogue's source, in order.
pub fn message_ids(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|l| l.split_once('=').map(|(id, _)| id.trim().to_owned()))
        .collect()
}

/// The interface strings of one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    /// The language (one of [`LANGUAGES`]).
    pub lang: &'static str,
}

impl Tr {
    /// The strings of `lang`, English if it has no catalogue.
    pub fn new(lang: &str) -> Self {
        let lang = LANGUAGES.iter().find(|l| **l == lang).unwrap_or(&"en");
        Self { lang }
    }

    /// Whether the catalogues have a message `id`.
    pub fn has(&self, id: &str) -> bool {
        bundle_of("en").is_some_and(|b| b.has_message(id))
    }

    /// The message `id` (English if this catalogue lacks it, the id itself
    /// if English does).
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// The message `id` with the argument `name` set to `value`.
    pub fn arg(&self, id: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), FluentValue::from(value.to_owned()));
        self.format(id, Some(&args))
    }

    /// The message `id` with text arguments.
    pub fn args(&self, id: &str, values: &[(&str, &str)]) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in values {
            args.set((*name).to_owned(), FluentValue::from((*value).to_owned()));
        }
        self.format(id, Some(&args))
    }

    /// The message `id` with the number `name` set to `n` (plural forms).
    pub fn num(&self, id: &str, name: &str, n: u64) -> String {
        self.nums(id, &[(name, n)])
    }

    /// The message `id` with numbers as arguments.
    pub fn nums(&self, id: &str, numbers: &[(&str, u64)]) -> String {
        let mut args = FluentArgs::new();
        for (name, n) in numbers {
            args.set((*name).to_owned(), FluentValue::from(*n));
        }
        self.format(id, Some(&args))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs>) -> String {
        for lang in [self.lang, "en"] {
            let Some(bundle) = bundle_of(lang) else {
                continue;
            };
            if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                let text = bundle.format_pattern(pattern, args, &mut errors);
                return text.into_owned();
            }
        }
        id.to_owned()
    }
}

/// The interface language: `?lang=` if it names one, else the best of
/// `Accept-Language` that has a catalogue, else English.
pub fn choose_language(param: Option<&str>, accept_language: Option<&str>) -> &'static str {
    let known = |tag: &str| {
        let primary = tag
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        LANGUAGES.iter().copied().find(|l| *l == primary)
    };
    if let Some(lang) = param.and_then(known) {
        return lang;
    }
    let mut best: Option<(f32, usize, &'static str)> = None;
    for (i, part) in accept_language.unwrap_or("").split(',').enumerate() {
        let mut pieces = part.split(';');
        let Some(lang) = known(pieces.next().unwrap_or("").trim()) else {
            continue;
        };
        let q = pieces
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(b, j, _)| q > b || (q == b && i < j)) {
            best = Some((q, i, lang));
        }
    }
    best.map_or("en", |(_, _, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_has_every_message_of_the_english_one() {
        let english = message_ids(SOURCES[0].1);
        assert!(english.len() > 50, "{english:?}");
        for (lang, source) in &SOURCES[1..] {
            let ids = message_ids(source);
            let missing: Vec<&String> = english.iter().filter(|id| !ids.contains(id)).collect();
            assert!(missing.is_empty(), "{lang}.ftl lacks {missing:?}");
            let extra: Vec<&String> = ids.iter().filter(|id| !english.contains(id)).collect();
            assert!(extra.is_empty(), "{lang}.ftl has unknown {extra:?}");
        }
    }

    #[test]
    fn every_catalogue_parses_and_formats() {
        for (lang, source) in SOURCES {
            assert!(FluentResource::try_new(source.to_owned()).is_ok(), "{lang}");
            let tr = Tr::new(lang);
            let bundle = bundle_of(lang).unwrap();
            for id in message_ids(source) {
                assert!(bundle.has_message(&id), "{lang}: {id}");
                assert!(!tr.t(&id).is_empty(), "{lang}: {id}");
            }
            assert!(tr.num("results-count", "count", 3).contains('3'), "{lang}");
        }
    }

    #[test]
    fn the_language_comes_from_the_parameter_then_the_header() {
        assert_eq!(choose_language(Some("fr"), Some("lt")), "fr");
        assert_eq!(choose_language(Some("xx"), Some("lt")), "lt");
        assert_eq!(choose_language(None, Some("de, sv;q=0.5, lv;q=0.7")), "lv");
        assert_eq!(choose_language(None, Some("es-ES,es;q=0.9")), "es");
        assert_eq!(choose_language(None, Some("de")), "en");
        assert_eq!(choose_language(None, None), "en");
        assert_eq!(Tr::new("zz").lang, "en");
    }
}
