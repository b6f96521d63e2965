//! Cursor paging of list endpoints (`{items, next}`), with `--all`, `--cursor`, `--limit`.

use serde_json::{Value, json};

use super::client::Api;
use super::error::CliError;
use super::output::{self, OutputFormat};

/// Paging options shared by `users list`, `audit` and `signins`.
#[derive(clap::Args, Debug, Clone)]
pub struct PageArgs {
    /// Page size, 1..=500 (the server's default is 50). With --all, the size of each page.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=500))]
    pub limit: Option<u16>,
    /// Follow the `next` cursors and print every page.
    #[arg(long)]
    pub all: bool,
    /// Start at this cursor (the `next` value of an earlier page).
    #[arg(long, value_name = "CURSOR", conflicts_with = "all")]
    pub cursor: Option<String>,
}

/// Items of one page or of all pages, and the cursor of the page after them.
pub struct Listing {
    pub items: Vec<Value>,
    pub next: Option<String>,
}

impl Listing {
    /// The JSON printed by `--output json`: the server's `{items, next}` shape.
    pub fn to_json(&self) -> Value {
        json!({ "items": self.items, "next": self.next })
    }

    /// On stderr, in text mode: how to get the next page.
    pub fn hint_more(&self, format: OutputFormat) {
        if let (OutputFormat::Text, Some(next)) = (format, &self.next) {
            eprintln!("(more results: add --all, or --cursor {next})");
        }
    }
}

/// Fetches one page, or every page with `--all`.
pub async fn fetch(
    api: &Api,
    path: &[&str],
    mut query: Vec<(&'static str, String)>,
    paging: &PageArgs,
    format: OutputFormat,
) -> Result<Listing, CliError> {
    if let Some(limit) = paging.limit {
        query.push(("limit", limit.to_string()));
    }
    let mut cursor = paging.cursor.clone();
    let mut items = Vec::new();
    let progress =
        if paging.all { output::spinner(format, "Fetching".to_owned()) } else { indicatif::ProgressBar::hidden() };
    loop {
        let mut page_query = query.clone();
        if let Some(cursor) = &cursor {
            page_query.push(("cursor", cursor.clone()));
        }
        let page = api.get(path, &page_query).await;
        let (page_items, next) = match page.and_then(split_page) {
            Ok(page) => page,
            Err(e) => {
                progress.finish_and_clear();
                return Err(e);
            }
        };
        items.extend(page_items);
        progress.set_message(format!("Fetched {} item(s)", items.len()));
        let repeated = next.is_some() && next == cursor;
        if !paging.all || next.is_none() || repeated {
            progress.finish_and_clear();
            let next = if paging.all { None } else { next };
            return Ok(Listing { items, next });
        }
        cursor = next;
    }
}

fn split_page(page: Value) -> Result<(Vec<Value>, Option<String>), CliError> {
    let malformed = || CliError::unexpected("the server's list answer has no `items` array");
    let Value::Object(mut map) = page else {
        return Err(malformed());
    };
    let Some(Value::Array(items)) = map.remove("items") else {
        return Err(malformed());
    };
    let next = match map.remove("next") {
        Some(Value::String(next)) if !next.is_empty() => Some(next),
        _ => None,
    };
    Ok((items, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_split_into_items_and_next() {
        let (items, next) = split_page(json!({"items": [1, 2], "next": "abc"})).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(next.as_deref(), Some("abc"));
        let (_, next) = split_page(json!({"items": [], "next": null})).unwrap();
        assert_eq!(next, None);
        assert!(split_page(json!({"next": null})).is_err());
        assert!(split_page(json!([])).is_err());
    }
}
