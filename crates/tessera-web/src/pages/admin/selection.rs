//! The state of the multi-factor authentication page, carried by its forms and links (the
//! server keeps none of it):
//!
//! - the filter (`status`, `search`) and where in the list the page is: `cursor`, the
//!   keyset cursor of the page shown (none on page 1), and `prev`, a stack of the cursors of
//!   the pages before it (page 1's is empty). "Next" pushes the current cursor and moves to the
//!   page's `next` cursor; "Previous" pops. The page number is the stack's height plus one.
//!   Every page is one indexed keyset query of the existing user listing: no count, no
//!   offset, the same speed on page 1 and page 2,000 of 100,000 users. (A reverse keyset query
//!   would make the stack unnecessary, at the price of a second listing in the store; the
//!   stack costs some 30 bytes of query string per page.)
//! - the selection: the ids of users selected on other pages, as hidden `selected` fields,
//!   plus this page's check boxes (`select`); the ids on this page are listed as `shown`, so
//!   unticking a box there removes its user. Every post re-renders the page with the
//!   accumulated selection, so a selection may span any number of pages.

use std::collections::HashSet;

use tessera_core::ids::UserId;
use tessera_core::mfa::PerUserMfaState;

use super::fields::{Fields, cursor_ok, query_string};

/// Which users the list shows and which page of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ListState {
    /// `None`: all states.
    pub status: Option<PerUserMfaState>,
    /// UPN prefix.
    pub search: String,
    /// The cursor of the page shown; `None` on page 1.
    pub cursor: Option<String>,
    /// The cursors of the pages before, page 1's empty.
    pub prev: Vec<String>,
}

fn status_of(v: Option<&str>) -> Option<PerUserMfaState> {
    v.and_then(|s| PerUserMfaState::parse(s).ok())
}

impl ListState {
    /// The filter and page named by `status`, `search`, `cursor` and `prev` (a link, or the
    /// hidden fields of a page's form).
    pub fn from_fields(f: &Fields) -> Self {
        Self::with_filter(f, f.get("status"), f.get("search"))
    }

    /// As [`ListState::from_fields`], with the filter the page was shown with (`cur_status`,
    /// `cur_search`) when the form has it: the cursors belong to that filter. A filter changed
    /// in the form but not applied starts again on page 1.
    pub fn from_page_form(f: &Fields) -> Self {
        if !f.has("cur_status") && !f.has("cur_search") {
            return Self::from_fields(f);
        }
        let shown = Self::with_filter(f, f.get("cur_status"), f.get("cur_search"));
        let typed = Self::filter_only(f.get("status"), f.get("search"));
        if (typed.status, &typed.search) == (shown.status, &shown.search) { shown } else { typed }
    }

    /// Page 1 of the filter typed into the form (its "Apply" button).
    pub fn from_filter_form(f: &Fields) -> Self {
        Self::filter_only(f.get("status"), f.get("search"))
    }

    fn filter_only(status: Option<&str>, search: Option<&str>) -> Self {
        let search: String = search.unwrap_or_default().chars().take(254).collect();
        Self { status: status_of(status), search, cursor: None, prev: Vec::new() }
    }

    fn with_filter(f: &Fields, status: Option<&str>, search: Option<&str>) -> Self {
        let mut s = Self::filter_only(status, search);
        s.cursor = f.get("cursor").filter(|c| cursor_ok(c)).map(str::to_owned);
        if s.cursor.is_some() {
            s.prev = f.all("prev").filter(|c| cursor_ok(c)).take(10_000).map(str::to_owned).collect();
            if s.prev.is_empty() {
                s.prev.push(String::new());
            }
        }
        s
    }

    pub fn page_number(&self) -> usize {
        if self.cursor.is_none() { 1 } else { self.prev.len() + 1 }
    }

    /// On to the page after this one, whose cursor is `next`.
    pub fn next(&mut self, next: &str) {
        if !cursor_ok(next) || next.is_empty() {
            return;
        }
        self.prev.push(self.cursor.take().unwrap_or_default());
        self.cursor = Some(next.to_owned());
    }

    /// Back to the page before.
    pub fn previous(&mut self) {
        self.cursor = self.prev.pop().filter(|c| !c.is_empty());
        if self.cursor.is_none() {
            self.prev.clear();
        }
    }

    pub fn status_str(&self) -> &'static str {
        self.status.map_or("", PerUserMfaState::as_str)
    }

    /// The query string of the filter only (page 1).
    pub fn filter_query(&self) -> String {
        query_string([("status", self.status_str(), false), ("search", self.search.as_str(), false)])
    }
}

/// The users selected, in the order they were selected, each once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Selection(Vec<UserId>);

impl Selection {
    /// `selected` (the other pages) without this page's `shown` users, plus this page's
    /// ticked boxes (`select`). Values that are not user ids are ignored.
    pub fn from_fields(f: &Fields) -> Self {
        let shown: HashSet<UserId> = f.all("shown").filter_map(UserId::parse).collect();
        let mut s = Self::default();
        s.extend(f.all("selected").filter_map(UserId::parse).filter(|id| !shown.contains(id)));
        s.extend(f.all("select").filter_map(UserId::parse));
        s
    }

    /// The ids posted as `selected` only (a confirmation page's users).
    pub fn posted(f: &Fields) -> Self {
        let mut s = Self::default();
        s.extend(f.all("selected").filter_map(UserId::parse));
        s
    }

    pub fn extend(&mut self, ids: impl IntoIterator<Item = UserId>) {
        let mut seen: HashSet<UserId> = self.0.iter().copied().collect();
        for id in ids {
            if seen.insert(id) {
                self.0.push(id);
            }
        }
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn contains(&self, id: UserId) -> bool {
        self.0.contains(&id)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn ids(&self) -> &[UserId] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|_| UserId::new().to_string()).collect()
    }

    #[test]
    fn selection_accumulates_across_pages_and_follows_this_pages_boxes() {
        let v = ids(5);
        // Selected elsewhere: 0, 1, 2; this page shows 2, 3, 4; ticked now: 3.
        let mut pairs = vec![];
        for i in [0, 1, 2] {
            pairs.push(("selected", v[i].as_str()));
        }
        for i in [2, 3, 4] {
            pairs.push(("shown", v[i].as_str()));
        }
        pairs.push(("select", v[3].as_str()));
        pairs.push(("select", "not-an-id"));
        pairs.push(("selected", v[0].as_str()));
        let s = Selection::from_fields(&Fields::of(&pairs));
        let got: Vec<String> = s.ids().iter().map(ToString::to_string).collect();
        assert_eq!(got, [v[0].clone(), v[1].clone(), v[3].clone()], "2 was unticked here, 3 ticked; each once");
    }

    #[test]
    fn paging_pushes_and_pops_cursors() {
        let mut st = ListState::from_fields(&Fields::of(&[("status", "enforced"), ("search", " al ")]));
        assert_eq!((st.status, st.search.as_str(), st.page_number()), (Some(PerUserMfaState::Enforced), "al", 1));
        st.next("YWxpY2U");
        assert_eq!(
            (st.cursor.as_deref(), st.prev.clone(), st.page_number()),
            (Some("YWxpY2U"), vec![String::new()], 2)
        );
        st.next("Ym9i");
        assert_eq!(st.page_number(), 3);
        assert_eq!(st.prev, ["", "YWxpY2U"]);
        // The links of page 3 lead back to page 3.
        let again = ListState::from_fields(&Fields::of(&[
            ("status", "enforced"),
            ("search", "al"),
            ("cursor", "Ym9i"),
            ("prev", ""),
            ("prev", "YWxpY2U"),
        ]));
        assert_eq!(again, st);
        st.previous();
        assert_eq!((st.cursor.as_deref(), st.page_number()), (Some("YWxpY2U"), 2));
        st.previous();
        assert_eq!((st.cursor.as_deref(), st.prev.len(), st.page_number()), (None, 0, 1));
        st.previous();
        assert_eq!(st.page_number(), 1);
        assert_eq!(st.filter_query(), "status=enforced&search=al");
    }

    #[test]
    fn a_changed_filter_starts_on_page_one_and_bad_cursors_are_dropped() {
        let f = Fields::of(&[
            ("status", "enabled"),
            ("cur_status", "enforced"),
            ("search", ""),
            ("cur_search", ""),
            ("cursor", "Ym9i"),
        ]);
        let st = ListState::from_page_form(&f);
        assert_eq!((st.status, st.cursor), (Some(PerUserMfaState::Enabled), None));
        let f = Fields::of(&[("status", "enforced"), ("cur_status", "enforced"), ("cursor", "Ym9i")]);
        let st = ListState::from_page_form(&f);
        assert_eq!((st.cursor.as_deref(), st.page_number()), (Some("Ym9i"), 2));
        let st = ListState::from_fields(&Fields::of(&[("cursor", "<script>"), ("status", "bogus")]));
        assert_eq!(st, ListState::default());
    }
}
