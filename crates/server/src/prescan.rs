//! A cheap lexical look at a SPARQL query before anything parses it: its size
//! and how deeply its brackets nest, outside strings, IRIs and comments. The
//! parser and the evaluator recurse on nesting, so a query over these limits
//! is refused before it can exhaust a stack or the parser's time.

/// Why a query was refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// More bytes than allowed.
    #[error("the query is {size} bytes long, over the limit of {limit} bytes (max_query_bytes)")]
    TooLong {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Brackets nested deeper than allowed.
    #[error(
        "the query nests brackets deeper than the limit of {limit} (max_query_depth), at byte {at}"
    )]
    TooDeep {
        /// The limit.
        limit: usize,
        /// Where the limit was crossed.
        at: usize,
    },
}

impl Refused {
    /// The name of the limit, as in `[server]` of `ccis.toml`.
    pub fn limit_name(&self) -> &'static str {
        match self {
            Self::TooLong { .. } => "max_query_bytes",
            Self::TooDeep { .. } => "max_query_depth",
        }
    }

    /// The value of the limit.
    pub fn limit(&self) -> usize {
        match self {
            Self::TooLong { limit, .. } | Self::TooDeep { limit, .. } => *limit,
        }
    }
}

/// Checks `query` against `max_bytes` and `max_depth` in one pass over its bytes.
pub fn check(query: &str, max_bytes: usize, max_depth: usize) -> Result<(), Refused> {
    if query.len() > max_bytes {
        return Err(Refused::TooLong {
            size: query.len(),
            limit: max_bytes,
        });
    }
    let bytes = query.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => i = skip_line(bytes, i),
            b'"' | b'\'' => i = skip_string(bytes, i),
            b'<' => i = skip_iri(bytes, i),
            b'(' | b'[' | b'{' => {
                depth = depth.saturating_add(1);
                if depth > max_depth {
                    return Err(Refused::TooDeep {
                        limit: max_depth,
                        at: i,
                    });
                }
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// The index after the comment starting at `start`.
fn skip_line(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|b| *b == b'\n' || *b == b'\r')
        .map_or(bytes.len(), |p| start + p + 1)
}

/// The index after the string starting at `start` (short or long form).
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let long = bytes.get(start + 1) == Some(&quote) && bytes.get(start + 2) == Some(&quote);
    let mut i = if long { start + 3 } else { start + 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote && !long => return i + 1,
            b'\n' | b'\r' if !long => return i + 1,
            b if b == quote
                && bytes.get(i + 1) == Some(&quote)
                && bytes.get(i + 2) == Some(&quote) =>
            {
                return i + 3;
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index after the IRI starting at `start`, or after `<` when what follows
/// cannot be an IRI (then it is the less-than operator).
fn skip_iri(bytes: &[u8], start: usize) -> usize {
    for (offset, b) in bytes[start + 1..].iter().enumerate() {
        match b {
            b'>' => return start + offset + 2,
            b'<' | b'"' | b'{' | b'}' | b'|' | b'^' | b'`' | b'\\' | 0..=b' ' => break,
            _ => {}
        }
    }
    start + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_brackets_outside_strings_iris_and_comments() {
        assert_eq!(check("ASK { ?s ?p ?o }", 100, 1), Ok(()));
        assert!(check("ASK { { ?s ?p ?o } }", 100, 1).is_err());
        let quoted =
            "ASK { ?s ?p \"(((((\" , '''{{{{''' , <http://x/((((> # ((((\n FILTER(?s < ?p) }";
        assert_eq!(check(quoted, 1000, 2), Ok(()));
        assert!(check(&"(".repeat(33), 1000, 32).is_err());
        assert_eq!(check(&"()".repeat(400), 1000, 1), Ok(()));
        let too_long = check(&"a".repeat(11), 10, 5);
        assert_eq!(too_long.map_err(|e| e.limit_name()), Err("max_query_bytes"));
        let deep = check(&"{".repeat(100), 1000, 32).unwrap_err();
        assert_eq!((deep.limit_name(), deep.limit()), ("max_query_depth", 32));
        assert!(deep.to_string().contains("max_query_depth"));
    }

    #[test]
    fn unterminated_tokens_end_the_scan() {
        // Whatever the parser later says of them, the scan ends without panicking.
        for q in [
            "ASK { \"((((",
            "ASK { '''((((",
            "ASK { <http://x",
            "\\",
            "'\\",
            "#",
        ] {
            assert_eq!(check(q, 100, 1), Ok(()), "{q}");
        }
    }
}
