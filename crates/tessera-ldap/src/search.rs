//! Search and compare. Anonymous clients read the root DSE only; a bound user reads their own
//! tenant: `o=<slug>`, `ou=users,o=<slug>` and its users. Another tenant does not exist for
//! them (noSuchObject).

use std::io;
use std::time::Duration;

use futures_util::{Sink, SinkExt};
use ldap3_proto::proto::{
    LdapCompareRequest, LdapFilter, LdapMsg, LdapOp, LdapResult, LdapResultCode, LdapSearchRequest, LdapSearchScope,
};
use tessera_core::CoreError;
use tessera_core::service::LegacyBound;
use tokio::time::Instant;

use crate::directory::Directory;
use crate::dn::{self, Dn, DnError};
use crate::entry::{Entry, Selection, canonical};
use crate::filter::{self, Plan};
use crate::session::{Session, result, service_error};

/// Why a search stopped before the end.
enum Stop {
    /// The answer to send now (a limit, a lookup that failed).
    Done(LdapResult),
    Io(io::Error),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Stop::Io(e)
    }
}

/// Sends the entries that match, within the size and time limits.
struct Emitter<'a> {
    msgid: i32,
    filter: &'a LdapFilter,
    selection: Selection,
    sent: usize,
    limit: usize,
    /// Whether `limit` is the client's (else the server's).
    client_limit: bool,
    deadline: Instant,
    client_deadline: bool,
}

impl Emitter<'_> {
    fn check_time(&self) -> Result<(), Stop> {
        if Instant::now() < self.deadline {
            return Ok(());
        }
        let message = if self.client_deadline { "time limit exceeded" } else { "server time limit exceeded" };
        Err(Stop::Done(result(LdapResultCode::TimeLimitExceeded, message)))
    }

    async fn emit<O>(&mut self, entry: &Entry, out: &mut O) -> Result<(), Stop>
    where
        O: Sink<LdapMsg, Error = io::Error> + Unpin,
    {
        if !filter::matches(self.filter, entry) {
            return Ok(());
        }
        if self.sent == self.limit {
            let message = if self.client_limit {
                "size limit exceeded".to_owned()
            } else {
                format!("more than {} entries match: narrow the search", self.limit)
            };
            return Err(Stop::Done(result(LdapResultCode::SizeLimitExceeded, message)));
        }
        self.check_time()?;
        out.feed(LdapMsg::new(self.msgid, LdapOp::SearchResultEntry(entry.to_result(&self.selection)))).await?;
        self.sent += 1;
        Ok(())
    }
}

impl<D: Directory> Session<D> {
    /// The bound user and the name `base` resolves to in their tenant, or the answer that
    /// refuses it.
    fn resolve(&self, base: &str) -> Result<(Dn, LegacyBound), LdapResult> {
        let dn = match dn::parse(base) {
            Ok(dn) => dn,
            Err(DnError::Syntax) => return Err(result(LdapResultCode::InvalidDNSyntax, "invalid DN")),
            Err(DnError::Unknown) => return Err(result(LdapResultCode::NoSuchObject, "no such object")),
        };
        let Some(bound) = self.bound.clone() else {
            return Err(result(
                LdapResultCode::InsufficentAccessRights,
                "bind first: anonymous clients can only read the root DSE",
            ));
        };
        if dn.tenant().is_some_and(|t| !t.eq_ignore_ascii_case(&bound.tenant_slug)) {
            return Err(result(LdapResultCode::NoSuchObject, "no such object"));
        }
        Ok((dn, bound))
    }

    /// A service error during a search or compare: a connection whose account was disabled
    /// or deleted since its bind becomes anonymous.
    fn lookup_failed(&mut self, e: &CoreError) -> LdapResult {
        if matches!(e, CoreError::Unauthorized) {
            self.bound = None;
            return result(
                LdapResultCode::InsufficentAccessRights,
                "the bound account can no longer read the directory",
            );
        }
        service_error(e, "search")
    }

    /// The user named by a user DN, as an entry; noSuchObject when there is none.
    async fn user_entry(&mut self, bound: &LegacyBound, upn: &str) -> Result<Entry, LdapResult> {
        match self.dir.find_user(bound, upn).await {
            Ok(Some(user)) => Ok(Entry::user(&user, &bound.tenant_slug)),
            Ok(None) => Err(LdapResult {
                matcheddn: Dn::Users(bound.tenant_slug.clone()).to_string(),
                ..result(LdapResultCode::NoSuchObject, "no such object")
            }),
            Err(e) => Err(self.lookup_failed(&e)),
        }
    }

    pub(crate) async fn search<O>(&mut self, msgid: i32, req: &LdapSearchRequest, out: &mut O) -> io::Result<LdapResult>
    where
        O: Sink<LdapMsg, Error = io::Error> + Unpin,
    {
        let server_time = self.limits.search_time;
        let client_time = u64::try_from(req.timelimit).ok().filter(|s| *s > 0).map(Duration::from_secs);
        let client_size = usize::try_from(req.sizelimit).ok().filter(|s| *s > 0);
        let limit = client_size.map_or(self.limits.max_entries, |c| c.min(self.limits.max_entries));
        let mut em = Emitter {
            msgid,
            filter: &req.filter,
            selection: Selection::new(&req.attrs, req.typesonly),
            sent: 0,
            limit,
            client_limit: client_size.is_some_and(|c| c <= self.limits.max_entries),
            deadline: Instant::now() + client_time.map_or(server_time, |c| c.min(server_time)),
            client_deadline: client_time.is_some_and(|c| c <= server_time),
        };
        let outcome = self.run_search(req, &mut em, out).await;
        out.flush().await?;
        match outcome {
            Ok(()) => Ok(result(LdapResultCode::Success, "")),
            Err(Stop::Done(res)) => Ok(res),
            Err(Stop::Io(e)) => Err(e),
        }
    }

    async fn run_search<O>(&mut self, req: &LdapSearchRequest, em: &mut Emitter<'_>, out: &mut O) -> Result<(), Stop>
    where
        O: Sink<LdapMsg, Error = io::Error> + Unpin,
    {
        if req.base.trim().is_empty() {
            // The root DSE, readable by anyone; it has no children here.
            if req.scope != LdapSearchScope::Base {
                return Err(Stop::Done(result(LdapResultCode::NoSuchObject, "search under o=<tenant>")));
            }
            let tenant = self.bound.as_ref().map(|b| b.tenant_slug.as_str());
            return em.emit(&Entry::root_dse(tenant), out).await;
        }
        let (dn, bound) = self.resolve(&req.base).map_err(Stop::Done)?;
        let slug = bound.tenant_slug.clone();
        use LdapSearchScope::{Base, Children, Subtree};
        let users = match (&dn, &req.scope) {
            (Dn::Root, _) => return Err(Stop::Done(result(LdapResultCode::NoSuchObject, "no such object"))),
            (Dn::Tenant(_), scope) => {
                if matches!(scope, Base | Subtree) {
                    em.emit(&Entry::tenant(&slug), out).await?;
                }
                if !matches!(scope, Base) {
                    em.emit(&Entry::users(&slug), out).await?;
                }
                matches!(scope, Subtree | Children)
            }
            (Dn::Users(_), scope) => {
                if matches!(scope, Base | Subtree) {
                    em.emit(&Entry::users(&slug), out).await?;
                }
                !matches!(scope, Base)
            }
            (Dn::User { upn, .. }, scope) => {
                let entry = self.user_entry(&bound, upn).await.map_err(Stop::Done)?;
                if matches!(scope, Base | Subtree) {
                    em.emit(&entry, out).await?;
                }
                false
            }
        };
        if users {
            self.emit_users(&bound, em, out).await?;
        }
        Ok(())
    }

    /// Every user of the tenant the filter can match: looked up one by one for an equality on
    /// `uid`/`mail`, else page by page (by UPN prefix when the filter has one).
    async fn emit_users<O>(&mut self, bound: &LegacyBound, em: &mut Emitter<'_>, out: &mut O) -> Result<(), Stop>
    where
        O: Sink<LdapMsg, Error = io::Error> + Unpin,
    {
        let slug = &bound.tenant_slug;
        match filter::plan(em.filter) {
            Plan::Upns(upns) => {
                for upn in upns {
                    em.check_time()?;
                    match self.dir.find_user(bound, &upn).await {
                        Ok(Some(user)) => em.emit(&Entry::user(&user, slug), out).await?,
                        Ok(None) => {}
                        Err(e) => return Err(Stop::Done(self.lookup_failed(&e))),
                    }
                }
            }
            Plan::Scan { prefix } => {
                let (mut after, mut last_key) = (None, None::<String>);
                loop {
                    em.check_time()?;
                    let want = (em.limit - em.sent + 1).clamp(20, 500) as u32;
                    let page = match self.dir.list_users(bound, prefix.as_deref(), want, after).await {
                        Ok(page) => page,
                        Err(e) => return Err(Stop::Done(self.lookup_failed(&e))),
                    };
                    // Pages come in UPN order: one that does not start past the last would
                    // repeat users, and never end.
                    let first = page.items.first().map(|u| u.upn.key());
                    if let (Some(first), Some(last)) = (&first, &last_key)
                        && first <= last
                    {
                        let e = CoreError::Internal(format!("user pages went back from {last} to {first}"));
                        return Err(Stop::Done(service_error(&e, "search")));
                    }
                    last_key = page.items.last().map(|u| u.upn.key()).or(last_key);
                    for user in &page.items {
                        em.emit(&Entry::user(user, slug), out).await?;
                    }
                    match page.next {
                        Some(next) => after = Some(next),
                        None => break,
                    }
                }
            }
        }
        Ok(())
    }

    pub(crate) async fn compare(&mut self, req: &LdapCompareRequest) -> LdapResult {
        let entry = if req.dn.trim().is_empty() {
            Entry::root_dse(self.bound.as_ref().map(|b| b.tenant_slug.as_str()))
        } else {
            let (dn, bound) = match self.resolve(&req.dn) {
                Ok(r) => r,
                Err(res) => return res,
            };
            match dn {
                Dn::Root => Entry::root_dse(Some(&bound.tenant_slug)),
                Dn::Tenant(_) => Entry::tenant(&bound.tenant_slug),
                Dn::Users(_) => Entry::users(&bound.tenant_slug),
                Dn::User { upn, .. } => match self.user_entry(&bound, &upn).await {
                    Ok(e) => e,
                    Err(res) => return res,
                },
            }
        };
        let Some(attr) = canonical(&req.atype) else {
            return result(LdapResultCode::UndefinedAttributeType, format!("unknown attribute {}", req.atype));
        };
        let Some(values) = entry.values(attr) else {
            return result(LdapResultCode::NoSuchAttribute, format!("the entry has no {attr}"));
        };
        let asserted = String::from_utf8_lossy(&req.val).trim().to_lowercase();
        if values.iter().any(|v| v.trim().to_lowercase() == asserted) {
            result(LdapResultCode::CompareTrue, "")
        } else {
            result(LdapResultCode::CompareFalse, "")
        }
    }
}
