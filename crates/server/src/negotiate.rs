//! HTTP content negotiation on the `Accept` header.

/// Picks, among `offered` media types (in the server's order of preference),
/// the one the client accepts best; `None` if it accepts none of them.
///
/// A missing or empty `Accept` header accepts anything, so the first offer wins.
pub fn choose<'a>(accept: Option<&str>, offered: &[&'a str]) -> Option<&'a str> {
    let accept = accept
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .unwrap_or("*/*");
    let mut ranges: Vec<(String, f32, usize)> = accept
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut pieces = part.split(';');
            let range = pieces.next()?.trim().to_ascii_lowercase();
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (!range.is_empty()).then_some((range, q, i))
        })
        .collect();
    // Highest quality first; among equals, the more specific range, then the client's order.
    ranges.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(specificity(&b.0).cmp(&specificity(&a.0)))
            .then(a.2.cmp(&b.2))
    });
    for (range, q, _) in &ranges {
        if *q <= 0.0 {
            continue;
        }
        if let Some(found) = offered.iter().find(|o| matches(range, o)) {
            return Some(found);
        }
    }
    None
}

fn specificity(range: &str) -> u8 {
    match range {
        "*/*" => 0,
        r if r.ends_with("/*") => 1,
        _ => 2,
    }
}

fn matches(range: &str, media_type: &str) -> bool {
    range == "*/*"
        || range == media_type
        || range
            .strip_suffix("/*")
            .is_some_and(|t| media_type.split('/').next() == Some(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_by_quality_specificity_and_server_order() {
        let offered = ["application/trig", "application/n-quads", "text/html"];
        assert_eq!(choose(None, &offered), Some("application/trig"));
        assert_eq!(
            choose(
                Some("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
                &offered
            ),
            Some("text/html")
        );
        assert_eq!(
            choose(
                Some("application/n-quads;q=0.5, application/trig;q=0.4"),
                &offered
            ),
            Some("application/n-quads")
        );
        assert_eq!(choose(Some("image/png"), &offered), None);
        assert_eq!(choose(Some("text/*"), &offered), Some("text/html"));
    }
}
