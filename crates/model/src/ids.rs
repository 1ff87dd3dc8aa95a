//! Identifiers every layer checks the same way: node ids and base URLs.

/// Why a node id or base URL is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The node id has characters outside `a-z`, `0-9`, `-`, or a bad length.
    #[error("node id {0:?} must be 1-64 characters among a-z, 0-9 and -")]
    NodeId(String),
    /// The base URL is not an absolute http(s) URL without trailing slash, query or fragment.
    #[error(
        "base URL {0:?} must be an absolute http(s) URL without trailing slash, query or fragment"
    )]
    BaseUrl(String),
}

/// Checks a node id: lowercase letters, digits and dashes.
pub fn check_node_id(id: &str) -> Result<(), IdError> {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    if id.is_empty() || id.len() > 64 || !id.bytes().all(allowed) {
        return Err(IdError::NodeId(id.to_owned()));
    }
    Ok(())
}

/// Checks a base URL: absolute http(s), no trailing slash, no query or fragment.
pub fn check_base_url(url: &str) -> Result<(), IdError> {
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && !url.ends_with('/')
        && !url.contains(['?', '#', ' '])
        && oxrdf::NamedNode::new(url).is_ok();
    if !ok {
        return Err(IdError::BaseUrl(url.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_and_base_urls() {
        assert!(check_node_id("ccis-fr").is_ok());
        assert!(check_node_id("").is_err());
        assert!(check_node_id("CCIS").is_err());
        assert!(check_base_url("https://ccis.example.fr").is_ok());
        assert!(check_base_url("https://ccis.example.fr/").is_err());
        assert!(check_base_url("ftp://ccis.example.fr").is_err());
        assert!(check_base_url("https://ccis.example.fr?x").is_err());
    }
}
