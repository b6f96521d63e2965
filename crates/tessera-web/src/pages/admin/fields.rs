//! Form bodies and query strings as ordered name/value pairs: the admin forms repeat names
//! (`selected=...&selected=...`, `prev=...`), which a struct cannot take.

use serde::Deserialize;

use super::super::csrf::CsrfField;
pub(crate) use super::super::enc;

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(transparent)]
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// The first value of `name` as it was sent (not trimmed), or "".
    pub fn raw(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`, in order (blank ones too).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    #[cfg(test)]
    pub fn of(pairs: &[(&str, &str)]) -> Self {
        Self(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }
}

impl CsrfField for Fields {
    fn csrf(&self) -> &str {
        self.raw("csrf")
    }
}

/// A paging cursor is base64url, no longer than the longest the services make (a UPN key of
/// 254 characters, some 1,360): anything else is dropped rather than echoed into links.
pub(crate) fn cursor_ok(c: &str) -> bool {
    c.len() <= 1400 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `a=1&b=2` from pairs, leaving out empty values unless `keep_empty`.
pub(crate) fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str, bool)>) -> String {
    pairs
        .into_iter()
        .filter(|(_, v, keep_empty)| *keep_empty || !v.is_empty())
        .map(|(k, v, _)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_keep_their_order() {
        let f: Fields = serde_urlencoded_like("selected=a&x=1&selected=b&selected=&csrf=t");
        assert_eq!(f.all("selected").collect::<Vec<_>>(), ["a", "b", ""]);
        assert_eq!(f.get("x"), Some("1"));
        assert_eq!(f.get("selected"), Some("a"));
        assert_eq!(f.get("missing"), None);
        assert_eq!(f.csrf(), "t");
        assert!(f.has("x") && !f.has("y"));
    }

    /// Parses like axum's `Form`/`Query` do.
    fn serde_urlencoded_like(s: &str) -> Fields {
        Fields(
            s.split('&')
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (k.to_owned(), v.to_owned())
                })
                .collect(),
        )
    }

    #[test]
    fn query_strings_encode_values() {
        let q = query_string([("search", "al ice&x", false), ("status", "", false), ("prev", "", true)]);
        assert_eq!(q, "search=al%20ice%26x&prev=");
    }
}
