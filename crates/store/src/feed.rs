//! The feed log: every stored version in publishing order, the source of the
//! LDES feed. Entries live in the graph `<{base}/feed>`:
//!
//! ```text
//! <{base}/feed> ccis:memberCount 42 ; ccis:pageSize 250 .
//! <R/versions/3> dct:isVersionOf <R> ; ccis:version 3 ; dct:modified "…" ;
//!     ccis:feedPosition 41 ; ccis:signedContent "…N-Quads…" .
//! ```
//!
//! `ccis:signedContent` holds the version with its proof as N-Quads exactly as
//! it was signed or verified, so the feed serves the same bytes to every
//! harvester whatever Oxigraph does to typed literals.
//!
//! Pages are cut when members are appended, by count (`page_size`) and by
//! bytes (`page_max_bytes`), and the cuts are stored, so a page never changes
//! once the next one is open, whatever the settings become:
//!
//! ```text
//! <{base}/feed> ccis:lastPage 7 .
//! <{base}/feed/7> ccis:pageStart 1402 ; ccis:pageBytes 3911223 .
//! ```
//!
//! A page with no `ccis:pageStart` (a feed written before cuts were stored)
//! starts at `index × page_size`.

use crate::write::Step;
use crate::{NodeStore, StoreError, StoreMeta};
use ccis_integrity::signed::SignedRecord;
use ccis_model::vocab;
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::store::{StorageError, Transaction};
use oxrdf::vocab::xsd;
use oxrdf::{GraphName, GraphNameRef, Literal, NamedNode, NamedNodeRef, Quad, QuadRef, Term};

/// Where page `k` starts (feed position), for pages opened by a cut.
const PAGE_START: NamedNodeRef<'static> =
    NamedNodeRef::new_unchecked("https://w3id.org/ccis/ns#pageStart");
/// The bytes of the members of a page so far (the largest value counts).
const PAGE_BYTES: NamedNodeRef<'static> =
    NamedNodeRef::new_unchecked("https://w3id.org/ccis/ns#pageBytes");
/// The index of the newest page (the largest value counts).
const LAST_PAGE: NamedNodeRef<'static> =
    NamedNodeRef::new_unchecked("https://w3id.org/ccis/ns#lastPage");

/// What a page weighs beyond its members (stream and page description).
const PAGE_OVERHEAD_BYTES: u64 = 2048;

/// One page of the feed, as served.
#[derive(Debug, Clone)]
pub struct FeedPage {
    /// Its members, in feed order.
    pub members: Vec<FeedMember>,
    /// Whether the next page is open: then this one never changes again.
    pub full: bool,
}

/// The bytes one member adds to a page served as N-Quads: its signed
/// N-Quads, each statement moved into the member's graph, and the four
/// statements describing it.
pub fn member_page_bytes(member: &str, signed_nquads: &str) -> u64 {
    let statements = signed_nquads.lines().count() + 4;
    (signed_nquads.len() + statements * (member.len() + 4) + 256) as u64
}

/// The newest page of the feed and how the next members are placed in it:
/// a new page opens when a member would take the page past `max_bytes`
/// (unless the page is empty), and as soon as it holds `page_size` members.
#[derive(Debug, Clone)]
pub(crate) struct PageCut {
    /// The newest page.
    pub page: u64,
    /// Members in it.
    members: u64,
    /// Their bytes.
    pub bytes: u64,
    page_size: u64,
    max_bytes: u64,
    /// Pages opened while placing members: (index, first position).
    pub opened: Vec<(u64, u64)>,
}

impl PageCut {
    /// Places the member at `position`, of `bytes`.
    pub fn place(&mut self, position: u64, bytes: u64) {
        if self.members > 0 && self.bytes + bytes > self.max_bytes {
            self.open(position);
        }
        self.members += 1;
        self.bytes += bytes;
        if self.members >= self.page_size {
            self.open(position + 1);
        }
    }

    fn open(&mut self, start: u64) {
        self.page += 1;
        self.members = 0;
        self.bytes = PAGE_OVERHEAD_BYTES;
        self.opened.push((self.page, start));
    }
}

/// One version in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedMember {
    /// Its place in the feed, from 0.
    pub position: u64,
    /// The member IRI: `{record}/versions/{version}`.
    pub member: NamedNode,
    /// The record it is a version of.
    pub record: NamedNode,
    /// The version number.
    pub version: u64,
    /// The record's `dct:modified`.
    pub modified: String,
    /// The version with its proof, as N-Quads (content in the default graph).
    pub signed_nquads: String,
}

/// The member IRI of one version of a record.
pub fn member_iri(record: &str, version: u64) -> NamedNode {
    NamedNode::new_unchecked(format!("{record}/versions/{version}"))
}

fn integer(n: u64) -> Literal {
    Literal::new_typed_literal(n.to_string(), xsd::INTEGER)
}

fn as_u64(term: &Term) -> Option<u64> {
    match term {
        Term::Literal(l) => l.value().parse().ok(),
        _ => None,
    }
}

/// The version with its proof as N-Quads, content in the default graph.
pub fn signed_nquads(signed: &SignedRecord) -> Result<String, std::io::Error> {
    let mut serializer = RdfSerializer::from_format(RdfFormat::NQuads).for_writer(Vec::new());
    for q in signed.to_document_quads() {
        serializer.serialize_quad(&q)?;
    }
    let bytes = serializer.finish()?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

impl NodeStore {
    /// The IRI of the node's event stream (also the name of the feed graph).
    pub fn feed(&self) -> &NamedNode {
        &self.feed
    }

    fn feed_graph(&self) -> GraphNameRef<'_> {
        GraphNameRef::NamedNode(self.feed.as_ref())
    }

    fn feed_number(
        &self,
        reader: &dyn crate::QuadReader,
        predicate: NamedNodeRef<'_>,
    ) -> Result<Option<u64>, StorageError> {
        // The largest: a bulk write adds the new count beside the old one,
        // which a transaction removes afterwards (both only ever grow).
        self.largest(reader, self.feed.as_ref(), predicate)
    }

    fn page_subject(&self, index: u64) -> NamedNode {
        NamedNode::new_unchecked(format!("{}/{index}", self.feed.as_str()))
    }

    /// The largest number `subject predicate` holds in the feed graph.
    fn largest(
        &self,
        reader: &dyn crate::QuadReader,
        subject: NamedNodeRef<'_>,
        predicate: NamedNodeRef<'_>,
    ) -> Result<Option<u64>, StorageError> {
        let mut max = None;
        for q in reader.quads(
            Some(subject.into()),
            Some(predicate),
            None,
            Some(self.feed_graph()),
        ) {
            if let Some(n) = as_u64(&q?.object) {
                max = max.max(Some(n));
            }
        }
        Ok(max)
    }

    /// Replaces every `subject predicate` number in the feed graph by `n`.
    fn replace_number(
        &self,
        tx: &mut Transaction<'_>,
        subject: NamedNodeRef<'_>,
        predicate: NamedNodeRef<'_>,
        n: u64,
    ) -> Result<(), StorageError> {
        let graph = self.feed_graph();
        let old: Vec<_> = tx
            .quads_for_pattern(Some(subject.into()), Some(predicate), None, Some(graph))
            .collect::<Result<_, _>>()?;
        for q in &old {
            tx.remove(q);
        }
        tx.insert(QuadRef::new(subject, predicate, &integer(n), graph));
        Ok(())
    }

    /// The newest page: stored, else (cuts not stored yet) by count.
    fn last_page_in(
        &self,
        tx: &Transaction<'_>,
        count: u64,
        page_size: u64,
    ) -> Result<u64, StorageError> {
        Ok(self
            .largest(tx, self.feed.as_ref(), LAST_PAGE)?
            .unwrap_or(count / page_size.max(1)))
    }

    /// Where page `index` starts: stored, else `index × page_size`.
    fn page_start_in(
        &self,
        tx: &Transaction<'_>,
        index: u64,
        page_size: u64,
    ) -> Result<u64, StorageError> {
        let subject = self.page_subject(index);
        Ok(self
            .largest(tx, subject.as_ref(), PAGE_START)?
            .unwrap_or(index.saturating_mul(page_size)))
    }

    /// The newest page of a feed of `count` members, ready to place more.
    pub(crate) fn page_cut_in(
        &self,
        tx: &Transaction<'_>,
        count: u64,
        page_size: u64,
    ) -> Result<PageCut, StoreError> {
        let read = || StoreError::read("the newest feed page", self.feed.as_str());
        let page = self.last_page_in(tx, count, page_size).map_err(read())?;
        let start = self
            .page_start_in(tx, page, page_size)
            .map_err(read())?
            .min(count);
        let subject = self.page_subject(page);
        let stored = self
            .largest(tx, subject.as_ref(), PAGE_BYTES)
            .map_err(read())?;
        let bytes = match stored {
            Some(b) => b,
            None => self
                .members(start, count)?
                .iter()
                .map(|m| member_page_bytes(m.member.as_str(), &m.signed_nquads))
                .sum::<u64>()
                .saturating_add(PAGE_OVERHEAD_BYTES),
        };
        Ok(PageCut {
            page,
            members: count - start,
            bytes,
            page_size: page_size.max(1),
            max_bytes: self.page_max_bytes,
            opened: Vec::new(),
        })
    }

    /// Writes where the pages opened by `cut` start and what the newest
    /// one holds, in place of the old values.
    pub(crate) fn write_cut(
        &self,
        tx: &mut Transaction<'_>,
        cut: &PageCut,
    ) -> Result<(), StorageError> {
        let graph = self.feed_graph();
        for (index, start) in &cut.opened {
            let subject = self.page_subject(*index);
            tx.insert(QuadRef::new(&subject, PAGE_START, &integer(*start), graph));
        }
        self.replace_number(tx, self.feed.as_ref(), LAST_PAGE, cut.page)?;
        let subject = self.page_subject(cut.page);
        self.replace_number(tx, subject.as_ref(), PAGE_BYTES, cut.bytes)
    }

    /// The quads of [`Self::write_cut`], for the bulk loader: added beside
    /// the old values, which the largest-wins readers then ignore.
    pub(crate) fn cut_quads(&self, cut: &PageCut) -> Vec<Quad> {
        let graph = GraphName::NamedNode(self.feed.clone());
        let mut quads: Vec<Quad> = cut
            .opened
            .iter()
            .map(|(index, start)| {
                Quad::new(
                    self.page_subject(*index),
                    PAGE_START,
                    integer(*start),
                    graph.clone(),
                )
            })
            .collect();
        quads.push(Quad::new(
            self.feed.clone(),
            LAST_PAGE,
            integer(cut.page),
            graph.clone(),
        ));
        quads.push(Quad::new(
            self.page_subject(cut.page),
            PAGE_BYTES,
            integer(cut.bytes),
            graph,
        ));
        quads
    }

    /// Page `index` of the feed as stored: `None` if it is not open yet.
    pub fn feed_page(&self, index: u64) -> Result<Option<FeedPage>, StoreError> {
        let bounds = self.page_bounds(index).map_err(StoreError::read(
            format!("where feed page {index} starts"),
            self.feed.as_str(),
        ))?;
        let Some((from, to, full)) = bounds else {
            return Ok(None);
        };
        Ok(Some(FeedPage {
            members: self.members(from, to.max(from))?,
            full,
        }))
    }

    /// The positions `from..to` of page `index` and whether it is full, read
    /// from one snapshot; `None` if the page is not open yet.
    fn page_bounds(&self, index: u64) -> Result<Option<(u64, u64, bool)>, StorageError> {
        let tx = self.store.start_transaction()?;
        let count = self.member_count_in(&tx)?;
        let page_size = self.page_size_in(&tx)?;
        let last = self.last_page_in(&tx, count, page_size)?;
        if index > last {
            return Ok(None);
        }
        let from = self.page_start_in(&tx, index, page_size)?.min(count);
        if index == last {
            return Ok(Some((from, count, false)));
        }
        let to = self.page_start_in(&tx, index + 1, page_size)?.min(count);
        Ok(Some((from, to, true)))
    }

    pub(crate) fn member_count_in(&self, tx: &dyn crate::QuadReader) -> Result<u64, StorageError> {
        Ok(self.feed_number(tx, vocab::MEMBER_COUNT)?.unwrap_or(0))
    }

    pub(crate) fn page_size_in(&self, tx: &dyn crate::QuadReader) -> Result<u64, StorageError> {
        Ok(self
            .feed_number(tx, vocab::PAGE_SIZE)?
            .unwrap_or(self.page_size))
    }

    pub(crate) fn set_member_count(
        &self,
        tx: &mut Transaction<'_>,
        count: u64,
        page_size: u64,
    ) -> Result<(), StorageError> {
        let graph = self.feed_graph();
        for predicate in [vocab::MEMBER_COUNT, vocab::PAGE_SIZE] {
            let old: Vec<_> = tx
                .quads_for_pattern(
                    Some(self.feed.as_ref().into()),
                    Some(predicate),
                    None,
                    Some(graph),
                )
                .collect::<Result<_, _>>()?;
            for q in &old {
                tx.remove(q);
            }
        }
        tx.insert(QuadRef::new(
            &self.feed,
            vocab::MEMBER_COUNT,
            &integer(count),
            graph,
        ));
        tx.insert(QuadRef::new(
            &self.feed,
            vocab::PAGE_SIZE,
            &integer(page_size),
            graph,
        ));
        Ok(())
    }

    /// Appends a version to the feed log at `position`, placing it in a page.
    pub(crate) fn append_member(
        &self,
        tx: &mut Transaction<'_>,
        signed: &SignedRecord,
        meta: &StoreMeta,
        position: u64,
        cut: &mut PageCut,
    ) -> Result<(), Step> {
        let (quads, bytes) = self.member_quads(signed, meta, position)?;
        tx.extend(&quads);
        cut.place(position, bytes);
        Ok(())
    }

    /// The feed log entry of a stored version at `position`, and the bytes
    /// it adds to a page ([`member_page_bytes`]).
    pub(crate) fn member_quads(
        &self,
        signed: &SignedRecord,
        meta: &StoreMeta,
        position: u64,
    ) -> Result<(Vec<Quad>, u64), StoreError> {
        let record = &signed.record;
        let version = record.version().unwrap_or(0);
        let member = member_iri(record.iri.as_str(), version);
        let content = match &meta.signed_nquads {
            Some(text) => text.clone(),
            None => signed_nquads(signed).map_err(|cause| StoreError::Serialize {
                record: record.iri.as_str().to_owned(),
                version,
                cause,
            })?,
        };
        let bytes = member_page_bytes(member.as_str(), &content);
        let graph = GraphName::NamedNode(self.feed.clone());
        let statements: [(NamedNodeRef<'_>, Term); 5] = [
            (vocab::DCT_IS_VERSION_OF, record.iri.clone().into()),
            (vocab::VERSION, integer(version).into()),
            (
                vocab::DCT_MODIFIED,
                Literal::new_typed_literal(record.modified().unwrap_or_default(), xsd::DATE_TIME)
                    .into(),
            ),
            (vocab::FEED_POSITION, integer(position).into()),
            (
                vocab::SIGNED_CONTENT,
                Literal::new_simple_literal(content).into(),
            ),
        ];
        let quads = statements
            .into_iter()
            .map(|(p, o)| Quad::new(member.clone(), p, o, graph.clone()))
            .collect();
        Ok((quads, bytes))
    }

    /// How many versions the feed holds.
    pub fn member_count(&self) -> Result<u64, StoreError> {
        self.read(|r| self.member_count_in(r))
            .map_err(StoreError::read("the member count", self.feed.as_str()))
    }

    /// Members per feed page: fixed by the first write, else the configured size.
    pub fn page_size(&self) -> Result<u64, StoreError> {
        self.read(|r| self.page_size_in(r))
            .map_err(StoreError::read("the page size", self.feed.as_str()))
    }

    /// The member count and page size read together, from one snapshot.
    pub fn feed_state(&self) -> Result<(u64, u64), StoreError> {
        self.read(|r| Ok((self.member_count_in(r)?, self.page_size_in(r)?)))
            .map_err(StoreError::read(
                "the member count and page size",
                self.feed.as_str(),
            ))
    }

    /// The members at positions `from..to`, in order.
    pub fn members(&self, from: u64, to: u64) -> Result<Vec<FeedMember>, StoreError> {
        let graph = self.feed.as_str();
        let mut out = Vec::new();
        for position in from..to {
            let at = integer(position);
            let found = self
                .store
                .quads_for_pattern(
                    None,
                    Some(vocab::FEED_POSITION),
                    Some(at.as_ref().into()),
                    Some(self.feed_graph()),
                )
                .next()
                .transpose()
                .map_err(StoreError::read(
                    format!("the member at position {position}"),
                    graph,
                ))?;
            let inconsistent = |problem| StoreError::FeedLog {
                graph: graph.to_owned(),
                position,
                problem,
            };
            let Some(q) = found else {
                return Err(inconsistent("no member there"));
            };
            let oxrdf::NamedOrBlankNode::NamedNode(member) = q.subject else {
                return Err(inconsistent("the position names a blank node"));
            };
            out.push(self.member(&member, position)?);
        }
        Ok(out)
    }

    /// The feed log entry of `member`, at `position`.
    fn member(&self, member: &NamedNode, position: u64) -> Result<FeedMember, StoreError> {
        let mut m = FeedMember {
            position,
            member: member.clone(),
            record: member.clone(),
            version: 0,
            modified: String::new(),
            signed_nquads: String::new(),
        };
        for q in self.store.quads_for_pattern(
            Some(member.as_ref().into()),
            None,
            None,
            Some(self.feed_graph()),
        ) {
            let q = q.map_err(StoreError::read(
                format!("member <{}> at position {position}", member.as_str()),
                self.feed.as_str(),
            ))?;
            match (q.predicate.as_ref(), q.object) {
                (p, Term::NamedNode(r)) if p == vocab::DCT_IS_VERSION_OF => m.record = r,
                (p, o) if p == vocab::VERSION => m.version = as_u64(&o).unwrap_or(0),
                (p, Term::Literal(l)) if p == vocab::DCT_MODIFIED => {
                    m.modified = l.destruct().0;
                }
                (p, Term::Literal(l)) if p == vocab::SIGNED_CONTENT => {
                    m.signed_nquads = l.destruct().0;
                }
                _ => {}
            }
        }
        Ok(m)
    }

    /// The newest stored version of a record, as the feed holds it.
    pub fn latest_member(&self, record: &NamedNode) -> Result<Option<FeedMember>, StoreError> {
        let read = || {
            StoreError::read(
                format!("the versions of <{}>", record.as_str()),
                self.feed.as_str(),
            )
        };
        let mut best: Option<(u64, NamedNode)> = None;
        for q in self.store.quads_for_pattern(
            None,
            Some(vocab::DCT_IS_VERSION_OF),
            Some(record.as_ref().into()),
            Some(self.feed_graph()),
        ) {
            let oxrdf::NamedOrBlankNode::NamedNode(member) = q.map_err(read())?.subject else {
                continue;
            };
            let position = self
                .store
                .quads_for_pattern(
                    Some(member.as_ref().into()),
                    Some(vocab::FEED_POSITION),
                    None,
                    Some(self.feed_graph()),
                )
                .next()
                .transpose()
                .map_err(read())?
                .and_then(|q| as_u64(&q.object))
                .unwrap_or(0);
            if best.as_ref().is_none_or(|(p, _)| position >= *p) {
                best = Some((position, member));
            }
        }
        best.map(|(position, member)| self.member(&member, position))
            .transpose()
    }
}
