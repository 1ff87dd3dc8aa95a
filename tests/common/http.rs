//! Checks of HTTP responses shared by the tests.

/// The header `name` of `response` as text; fails the test, naming the
/// header, when it is missing or not text.
pub fn header(response: &reqwest::Response, name: &str) -> String {
    let value = response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header in {:?}", response.headers()));
    value
        .to_str()
        .unwrap_or_else(|_| panic!("{name} is not text: {value:?}"))
        .to_owned()
}
