//! Namespaces, the terms the code names, and the vocabulary files built into the binary.

use oxigraph::io::{RdfFormat, RdfParser};
use oxrdf::{NamedNodeRef, NamedOrBlankNode, Term};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Our own namespace.
pub const CCIS: &str = "https://w3id.org/ccis/ns#";
/// Dublin Core terms.
pub const DCT: &str = "http://purl.org/dc/terms/";
/// W3C security vocabulary (Data Integrity).
pub const SEC: &str = "https://w3id.org/security#";
/// schema.org.
pub const SCHEMA: &str = "https://schema.org/";
/// SKOS.
pub const SKOS: &str = "http://www.w3.org/2004/02/skos/core#";
/// PROV-O.
pub const PROV: &str = "http://www.w3.org/ns/prov#";
/// EARL, the Evaluation and Report Language.
pub const EARL: &str = "http://www.w3.org/ns/earl#";
/// DCAT.
pub const DCAT: &str = "http://www.w3.org/ns/dcat#";
/// Linked Data Event Streams.
pub const LDES: &str = "https://w3id.org/ldes#";
/// TREE hypermedia.
pub const TREE: &str = "https://w3id.org/tree#";
/// XML Schema datatypes.
pub const XSD: &str = "http://www.w3.org/2001/XMLSchema#";
/// EU authority table of countries.
pub const EU_COUNTRY: &str = "http://publications.europa.eu/resource/authority/country/";
/// EU authority table of languages.
pub const EU_LANGUAGE: &str = "http://publications.europa.eu/resource/authority/language/";

/// The name of the ccis JSON-LD context, as records cite it.
pub const CONTEXT_URL: &str = "https://w3id.org/ccis/context.jsonld";
/// The W3C Data Integrity v2 context.
pub const DATA_INTEGRITY_CONTEXT_URL: &str = "https://w3id.org/security/data-integrity/v2";

/// `vocab/ccis.ttl`: classes and properties.
pub const ONTOLOGY_TTL: &str = include_str!("../../../vocab/ccis.ttl");
/// `vocab/schemes.ttl`: SKOS concept schemes.
pub const SCHEMES_TTL: &str = include_str!("../../../vocab/schemes.ttl");
/// `vocab/eu-authorities.ttl`: EU languages and member states.
pub const AUTHORITIES_TTL: &str = include_str!("../../../vocab/eu-authorities.ttl");
/// `vocab/shapes.ttl`: SHACL shapes of records.
pub const SHAPES_TTL: &str = include_str!("../../../vocab/shapes.ttl");
/// `vocab/context.jsonld`: the JSON-LD context of records.
pub const CONTEXT_JSONLD: &str = include_str!("../../../vocab/context.jsonld");
/// The W3C Data Integrity v2 context, pinned.
pub const DATA_INTEGRITY_CONTEXT_JSONLD: &str =
    include_str!("../../../vocab/contexts/data-integrity-v2.jsonld");

/// The vocabulary files a node serves under `/vocab/`, by file name.
pub const FILES: &[(&str, &str)] = &[
    ("ccis.ttl", ONTOLOGY_TTL),
    ("schemes.ttl", SCHEMES_TTL),
    ("eu-authorities.ttl", AUTHORITIES_TTL),
    ("shapes.ttl", SHAPES_TTL),
    ("context.jsonld", CONTEXT_JSONLD),
];

macro_rules! terms {
    ($($(#[$doc:meta])* $name:ident = $iri:expr;)*) => {
        $($(#[$doc])* pub const $name: NamedNodeRef<'static> = NamedNodeRef::new_unchecked($iri);)*
    };
}

terms! {
    /// `ccis:version`
    VERSION = "https://w3id.org/ccis/ns#version";
    /// `ccis:Tool`
    TOOL = "https://w3id.org/ccis/ns#Tool";
    /// `ccis:Practice`
    PRACTICE = "https://w3id.org/ccis/ns#Practice";
    /// `ccis:SupportProgramme`
    SUPPORT_PROGRAMME = "https://w3id.org/ccis/ns#SupportProgramme";
    /// `ccis:Organisation`
    ORGANISATION = "https://w3id.org/ccis/ns#Organisation";
    /// `ccis:Initiative`
    INITIATIVE = "https://w3id.org/ccis/ns#Initiative";
    /// `ccis:Validation`
    VALIDATION = "https://w3id.org/ccis/ns#Validation";
    /// `ccis:Withdrawn`
    WITHDRAWN = "https://w3id.org/ccis/ns#Withdrawn";
    /// `dct:modified`
    DCT_MODIFIED = "http://purl.org/dc/terms/modified";
    /// `dct:title`
    DCT_TITLE = "http://purl.org/dc/terms/title";
    /// `dct:created`
    DCT_CREATED = "http://purl.org/dc/terms/created";
    /// `dct:source`
    DCT_SOURCE = "http://purl.org/dc/terms/source";
    /// `dct:publisher`
    DCT_PUBLISHER = "http://purl.org/dc/terms/publisher";
    /// `dct:spatial`
    DCT_SPATIAL = "http://purl.org/dc/terms/spatial";
    /// `dct:identifier`
    DCT_IDENTIFIER = "http://purl.org/dc/terms/identifier";
    /// `sec:proof`
    SEC_PROOF = "https://w3id.org/security#proof";
    /// `sec:DataIntegrityProof`
    SEC_DATA_INTEGRITY_PROOF = "https://w3id.org/security#DataIntegrityProof";
    /// `sec:cryptosuite`
    SEC_CRYPTOSUITE = "https://w3id.org/security#cryptosuite";
    /// `sec:cryptosuiteString`
    SEC_CRYPTOSUITE_STRING = "https://w3id.org/security#cryptosuiteString";
    /// `sec:verificationMethod`
    SEC_VERIFICATION_METHOD = "https://w3id.org/security#verificationMethod";
    /// `sec:proofPurpose`
    SEC_PROOF_PURPOSE = "https://w3id.org/security#proofPurpose";
    /// `sec:assertionMethod`
    SEC_ASSERTION_METHOD = "https://w3id.org/security#assertionMethod";
    /// `sec:proofValue`
    SEC_PROOF_VALUE = "https://w3id.org/security#proofValue";
    /// `sec:multibase`
    SEC_MULTIBASE = "https://w3id.org/security#multibase";
    /// `dcat:CatalogRecord`
    DCAT_CATALOG_RECORD = "http://www.w3.org/ns/dcat#CatalogRecord";
    /// `dcat:Catalog`
    DCAT_CATALOG = "http://www.w3.org/ns/dcat#Catalog";
    /// `dcat:record`
    DCAT_RECORD = "http://www.w3.org/ns/dcat#record";
    /// `foaf:primaryTopic`
    FOAF_PRIMARY_TOPIC = "http://xmlns.com/foaf/0.1/primaryTopic";
    /// `ccis:originNode`
    ORIGIN_NODE = "https://w3id.org/ccis/ns#originNode";
    /// `ccis:verification`
    VERIFICATION = "https://w3id.org/ccis/ns#verification";
    /// `ccis:proofGraph`
    PROOF_GRAPH = "https://w3id.org/ccis/ns#proofGraph";
    /// `ccis:status`
    STATUS = "https://w3id.org/ccis/ns#status";
    /// `prov:generatedAtTime`
    PROV_GENERATED_AT = "http://www.w3.org/ns/prov#generatedAtTime";
    /// `ccis:feedPosition`
    FEED_POSITION = "https://w3id.org/ccis/ns#feedPosition";
    /// `ccis:signedContent`
    SIGNED_CONTENT = "https://w3id.org/ccis/ns#signedContent";
    /// `ccis:memberCount`
    MEMBER_COUNT = "https://w3id.org/ccis/ns#memberCount";
    /// `ccis:harvestState`
    HARVEST_STATE = "https://w3id.org/ccis/ns#harvestState";
    /// `ccis:pageSize`
    PAGE_SIZE = "https://w3id.org/ccis/ns#pageSize";
    /// `dct:isVersionOf`
    DCT_IS_VERSION_OF = "http://purl.org/dc/terms/isVersionOf";
    /// `ldes:EventStream`
    LDES_EVENT_STREAM = "https://w3id.org/ldes#EventStream";
    /// `ldes:timestampPath`
    LDES_TIMESTAMP_PATH = "https://w3id.org/ldes#timestampPath";
    /// `ldes:versionOfPath`
    LDES_VERSION_OF_PATH = "https://w3id.org/ldes#versionOfPath";
    /// `tree:Node`
    TREE_NODE_CLASS = "https://w3id.org/tree#Node";
    /// `tree:Relation`
    TREE_RELATION_CLASS = "https://w3id.org/tree#Relation";
    /// `tree:relation`
    TREE_RELATION = "https://w3id.org/tree#relation";
    /// `tree:node`
    TREE_NODE = "https://w3id.org/tree#node";
    /// `tree:member`
    TREE_MEMBER = "https://w3id.org/tree#member";
    /// `tree:view`
    TREE_VIEW = "https://w3id.org/tree#view";
    /// `tree:shape`
    TREE_SHAPE = "https://w3id.org/tree#shape";
    /// `dct:isPartOf`
    DCT_IS_PART_OF = "http://purl.org/dc/terms/isPartOf";
    /// `dct:description`
    DCT_DESCRIPTION = "http://purl.org/dc/terms/description";
    /// `ccis:levelOfAction`
    LEVEL_OF_ACTION = "https://w3id.org/ccis/ns#levelOfAction";
    /// `ccis:outcome`
    OUTCOME = "https://w3id.org/ccis/ns#outcome";
    /// `ccis:rationale`
    RATIONALE = "https://w3id.org/ccis/ns#rationale";
    /// `prov:Activity`
    PROV_ACTIVITY = "http://www.w3.org/ns/prov#Activity";
    /// `prov:Entity`
    PROV_ENTITY = "http://www.w3.org/ns/prov#Entity";
    /// `prov:Association`
    PROV_ASSOCIATION = "http://www.w3.org/ns/prov#Association";
    /// `prov:used`
    PROV_USED = "http://www.w3.org/ns/prov#used";
    /// `prov:specializationOf`
    PROV_SPECIALIZATION_OF = "http://www.w3.org/ns/prov#specializationOf";
    /// `prov:qualifiedAssociation`
    PROV_QUALIFIED_ASSOCIATION = "http://www.w3.org/ns/prov#qualifiedAssociation";
    /// `prov:wasAssociatedWith`
    PROV_WAS_ASSOCIATED_WITH = "http://www.w3.org/ns/prov#wasAssociatedWith";
    /// `prov:agent`
    PROV_AGENT = "http://www.w3.org/ns/prov#agent";
    /// `prov:hadRole`
    PROV_HAD_ROLE = "http://www.w3.org/ns/prov#hadRole";
    /// `prov:hadPlan`
    PROV_HAD_PLAN = "http://www.w3.org/ns/prov#hadPlan";
    /// `prov:generated`
    PROV_GENERATED = "http://www.w3.org/ns/prov#generated";
    /// `prov:endedAtTime`
    PROV_ENDED_AT_TIME = "http://www.w3.org/ns/prov#endedAtTime";
    /// `sec:digestMultibase`
    SEC_DIGEST_MULTIBASE = "https://w3id.org/security#digestMultibase";
    /// `earl:Assertion`
    EARL_ASSERTION = "http://www.w3.org/ns/earl#Assertion";
    /// `earl:TestResult`
    EARL_TEST_RESULT = "http://www.w3.org/ns/earl#TestResult";
    /// `earl:assertedBy`
    EARL_ASSERTED_BY = "http://www.w3.org/ns/earl#assertedBy";
    /// `earl:subject`
    EARL_SUBJECT = "http://www.w3.org/ns/earl#subject";
    /// `earl:test`
    EARL_TEST = "http://www.w3.org/ns/earl#test";
    /// `earl:result`
    EARL_RESULT = "http://www.w3.org/ns/earl#result";
    /// `earl:outcome`
    EARL_OUTCOME = "http://www.w3.org/ns/earl#outcome";
    /// `earl:mode`
    EARL_MODE = "http://www.w3.org/ns/earl#mode";
    /// `earl:manual`
    EARL_MANUAL = "http://www.w3.org/ns/earl#manual";
}

/// The record classes, with the short name the CLI prints.
pub const RECORD_CLASSES: &[(NamedNodeRef<'static>, &str)] = &[
    (TOOL, "Tool"),
    (PRACTICE, "Practice"),
    (SUPPORT_PROGRAMME, "SupportProgramme"),
    (ORGANISATION, "Organisation"),
    (INITIATIVE, "Initiative"),
    (VALIDATION, "Validation"),
    (WITHDRAWN, "Withdrawn"),
];

/// The IRI of an EU member state in the EU authority table, from its ISO 3166-1 alpha-2 code.
pub fn country_iri(alpha2: &str) -> Option<String> {
    authority_tables()
        .get(&(EU_COUNTRY, alpha2.to_ascii_uppercase()))
        .cloned()
}

/// The IRI of an official EU language in the EU authority table, from its BCP 47 tag.
pub fn language_iri(tag: &str) -> Option<String> {
    authority_tables()
        .get(&(EU_LANGUAGE, tag.to_ascii_lowercase()))
        .cloned()
}

/// (namespace, ISO code) → authority-table IRI, read once from `vocab/eu-authorities.ttl`.
fn authority_tables() -> &'static HashMap<(&'static str, String), String> {
    static TABLES: OnceLock<HashMap<(&'static str, String), String>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let iso_code = format!("{CCIS}isoCode");
        RdfParser::from_format(RdfFormat::Turtle)
            .for_slice(AUTHORITIES_TTL.as_bytes())
            .filter_map(Result::ok)
            .filter(|q| q.predicate.as_str() == iso_code)
            .filter_map(|q| {
                let (NamedOrBlankNode::NamedNode(s), Term::Literal(code)) = (q.subject, q.object)
                else {
                    return None;
                };
                let ns = if s.as_str().starts_with(EU_COUNTRY) {
                    EU_COUNTRY
                } else {
                    EU_LANGUAGE
                };
                Some(((ns, code.value().to_owned()), s.into_string()))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_map_to_authority_iris() {
        assert_eq!(
            country_iri("fr").as_deref(),
            Some("http://publications.europa.eu/resource/authority/country/FRA")
        );
        assert_eq!(
            country_iri("LV").as_deref(),
            Some("http://publications.europa.eu/resource/authority/country/LVA")
        );
        assert_eq!(country_iri("US"), None);
        assert_eq!(
            language_iri("sv").as_deref(),
            Some("http://publications.europa.eu/resource/authority/language/SWE")
        );
    }
}
