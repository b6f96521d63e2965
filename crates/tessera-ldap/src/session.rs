//! One connection's LDAP session: who is bound, and the answer to each request. Read-only:
//! binds, searches, compares and Who am I?; every change is refused.

use std::io;

use futures_util::{Sink, SinkExt};
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{
    LdapBindCred, LdapBindRequest, LdapBindResponse, LdapExtendedRequest, LdapExtendedResponse, LdapMsg, LdapOp,
    LdapResult, LdapResultCode,
};
use tessera_core::CoreError;
use tessera_core::service::{LegacyBound, RequestCtx};

use crate::Limits;
use crate::directory::Directory;
use crate::dn::{self, Dn, DnError};
use crate::entry::OID_WHOAMI;

/// The diagnostic of every refused bind: a client learns nothing about the account.
pub(crate) const INVALID_CREDENTIALS: &str = "invalid credentials";

/// What the connection does after a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    Continue,
    /// Unbind, or a request that breaks the protocol: close the connection.
    Close,
}

/// An LDAP result.
pub(crate) fn result(code: LdapResultCode, message: impl Into<String>) -> LdapResult {
    LdapResult { code, matcheddn: String::new(), message: message.into(), referral: Vec::new() }
}

/// The answer to a service error that is not the client's fault; the cause goes to the log.
pub(crate) fn service_error(e: &CoreError, what: &str) -> LdapResult {
    tracing::error!(error = %e, "LDAP {what} failed");
    match e {
        CoreError::Store(_) => result(LdapResultCode::Unavailable, "the service is unavailable, try again later"),
        _ => result(LdapResultCode::Other, "internal error"),
    }
}

pub(crate) struct Session<D> {
    pub(crate) dir: D,
    pub(crate) ctx: RequestCtx,
    pub(crate) limits: Limits,
    /// `None`: anonymous (the state of a new connection, and after any failed bind).
    pub(crate) bound: Option<LegacyBound>,
}

impl<D: Directory> Session<D> {
    pub(crate) fn new(dir: D, peer_ip: std::net::IpAddr, limits: Limits) -> Self {
        let ctx = RequestCtx { source_ip: Some(peer_ip), user_agent: Some("ldap".into()), device_tokens: Vec::new() };
        Session { dir, ctx, limits, bound: None }
    }

    /// Answers one request (searches send their entries to `out` as they are found).
    pub(crate) async fn handle<O>(&mut self, msg: LdapMsg, out: &mut O) -> io::Result<Next>
    where
        O: Sink<LdapMsg, Error = io::Error> + Unpin,
    {
        let id = msg.msgid;
        let critical = msg.ctrl.iter().find_map(unsupported_critical);
        if let (Some(oid), Some(refusal)) = (critical, refusal_op(&msg.op)) {
            let res = result(LdapResultCode::UnavailableCriticalExtension, format!("control {oid} is not supported"));
            out.send(LdapMsg::new(id, refusal(res))).await?;
            return Ok(Next::Continue);
        }
        let op = match msg.op {
            LdapOp::BindRequest(req) => {
                LdapOp::BindResponse(LdapBindResponse { res: self.bind(req).await, saslcreds: None })
            }
            LdapOp::UnbindRequest => return Ok(Next::Close),
            LdapOp::SearchRequest(req) => LdapOp::SearchResultDone(self.search(id, &req, out).await?),
            LdapOp::CompareRequest(req) => LdapOp::CompareResult(self.compare(&req).await),
            LdapOp::ExtendedRequest(req) => LdapOp::ExtendedResponse(self.extended(&req)),
            // Operations run one at a time: there is never one to abandon, and no answer.
            LdapOp::AbandonRequest(_) => return Ok(Next::Continue),
            LdapOp::ModifyRequest(_) => LdapOp::ModifyResponse(read_only()),
            LdapOp::AddRequest(_) => LdapOp::AddResponse(read_only()),
            LdapOp::DelRequest(_) => LdapOp::DelResponse(read_only()),
            LdapOp::ModifyDNRequest(_) => LdapOp::ModifyDNResponse(read_only()),
            other => {
                tracing::debug!(peer = ?self.ctx.source_ip, op = op_name(&other), "not a request: closing");
                return Ok(Next::Close);
            }
        };
        out.send(LdapMsg::new(id, op)).await?;
        Ok(Next::Continue)
    }

    async fn bind(&mut self, req: LdapBindRequest) -> LdapResult {
        // Whatever happens, the connection is anonymous until this bind succeeds.
        self.bound = None;
        if req.version != 3 {
            return result(LdapResultCode::ProtocolError, "only LDAP version 3 is supported");
        }
        let secret = match req.cred {
            LdapBindCred::Simple(secret) => secret,
            LdapBindCred::SASL(_) | LdapBindCred::Unsupported => {
                return result(LdapResultCode::AuthMethodNotSupported, "only simple binds are supported");
            }
        };
        let name = req.dn.trim();
        match (name.is_empty(), secret.is_empty()) {
            (true, true) => return result(LdapResultCode::Success, ""),
            // RFC 4513 §5.1.2: a name without a password is an unauthenticated bind.
            (false, true) => {
                return result(
                    LdapResultCode::UnwillingToPerform,
                    "unauthenticated bind (a name without a password) is not allowed",
                );
            }
            (true, false) => return result(LdapResultCode::InvalidCredentials, INVALID_CREDENTIALS),
            (false, false) => {}
        }
        let (tenant, upn) = match bind_name(name) {
            Ok(parsed) => parsed,
            Err(DnError::Syntax) => return result(LdapResultCode::InvalidDNSyntax, "the bind name is not a valid DN"),
            Err(DnError::Unknown) => return result(LdapResultCode::InvalidCredentials, INVALID_CREDENTIALS),
        };
        match self.dir.bind(tenant.as_deref(), &upn, secret, &self.ctx).await {
            Ok(bound) => {
                tracing::debug!(peer = ?self.ctx.source_ip, upn = %bound.user.upn, credential = bound.credential.as_str(), "LDAP bind");
                self.bound = Some(bound);
                result(LdapResultCode::Success, "")
            }
            Err(CoreError::InvalidCredentials) => result(LdapResultCode::InvalidCredentials, INVALID_CREDENTIALS),
            Err(CoreError::TooManyAttempts { .. }) => {
                result(LdapResultCode::InvalidCredentials, "too many attempts, try again later")
            }
            Err(e) => service_error(&e, "bind"),
        }
    }

    fn extended(&self, req: &LdapExtendedRequest) -> LdapExtendedResponse {
        if req.name != OID_WHOAMI {
            // RFC 4511 §4.12: an unknown request name is a protocolError.
            return LdapExtendedResponse {
                res: result(LdapResultCode::ProtocolError, format!("extended operation {} is not supported", req.name)),
                name: None,
                value: None,
            };
        }
        // RFC 4532: the authorization identity, empty when anonymous.
        let authz = match &self.bound {
            Some(b) => format!("dn:{}", dn::user_dn(b.user.upn.as_str(), &b.tenant_slug)),
            None => String::new(),
        };
        LdapExtendedResponse { res: result(LdapResultCode::Success, ""), name: None, value: Some(authz.into_bytes()) }
    }
}

/// The tenant (for a DN) and UPN of a bind name: a UPN (`alice@contoso.com`) or the DN
/// `uid=alice@contoso.com,ou=users,o=contoso`.
fn bind_name(name: &str) -> Result<(Option<String>, String), DnError> {
    if !name.contains('=') {
        return Ok((None, name.to_owned()));
    }
    match dn::parse(name)? {
        Dn::User { tenant, upn } => Ok((Some(tenant), upn)),
        _ => Err(DnError::Unknown),
    }
}

fn read_only() -> LdapResult {
    result(LdapResultCode::UnwillingToPerform, "this directory is read-only")
}

/// The OID of a control the client marked critical that this server does not implement.
/// ManageDsaIT is honoured trivially: there are no referral objects.
fn unsupported_critical(c: &LdapControl) -> Option<String> {
    let (oid, critical) = match c {
        LdapControl::Unknown { oid, criticality, .. } => (oid.as_str(), *criticality),
        LdapControl::SyncRequest { criticality, .. } => ("1.3.6.1.4.1.4203.1.9.1.1", *criticality),
        LdapControl::PasswordPolicyRequest { criticality } => ("1.3.6.1.4.1.42.2.27.8.5.1", *criticality),
        LdapControl::SearchOptions { criticality, .. } => ("1.2.840.113556.1.4.1340", *criticality),
        LdapControl::ShowDeleted { criticality } => ("1.2.840.113556.1.4.417", *criticality),
        LdapControl::SdFlags { criticality, .. } => ("1.2.840.113556.1.4.801", *criticality),
        LdapControl::ExtendedDn { criticality, .. } => ("1.2.840.113556.1.4.529", *criticality),
        _ => return None,
    };
    critical.then(|| oid.to_owned())
}

/// How to answer a request with a bare result (`None` for requests without an answer).
fn refusal_op(op: &LdapOp) -> Option<fn(LdapResult) -> LdapOp> {
    Some(match op {
        LdapOp::BindRequest(_) => |res| LdapOp::BindResponse(LdapBindResponse { res, saslcreds: None }),
        LdapOp::SearchRequest(_) => LdapOp::SearchResultDone,
        LdapOp::CompareRequest(_) => LdapOp::CompareResult,
        LdapOp::ModifyRequest(_) => LdapOp::ModifyResponse,
        LdapOp::AddRequest(_) => LdapOp::AddResponse,
        LdapOp::DelRequest(_) => LdapOp::DelResponse,
        LdapOp::ModifyDNRequest(_) => LdapOp::ModifyDNResponse,
        LdapOp::ExtendedRequest(_) => {
            |res| LdapOp::ExtendedResponse(LdapExtendedResponse { res, name: None, value: None })
        }
        _ => return None,
    })
}

fn op_name(op: &LdapOp) -> &'static str {
    match op {
        LdapOp::BindResponse(_) => "bindResponse",
        LdapOp::SearchResultEntry(_) => "searchResEntry",
        LdapOp::SearchResultDone(_) => "searchResDone",
        LdapOp::SearchResultReference(_) => "searchResRef",
        LdapOp::ExtendedResponse(_) => "extendedResp",
        LdapOp::IntermediateResponse(_) => "intermediateResponse",
        _ => "response",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_names() {
        assert_eq!(bind_name("alice@contoso.com"), Ok((None, "alice@contoso.com".into())));
        assert_eq!(
            bind_name("UID=alice@contoso.com, OU=Users, O=Contoso"),
            Ok((Some("contoso".into()), "alice@contoso.com".into()))
        );
        assert_eq!(bind_name("o=contoso"), Err(DnError::Unknown));
        assert_eq!(bind_name("cn=admin,dc=example,dc=com"), Err(DnError::Unknown));
        assert_eq!(bind_name("uid=x,,o=y"), Err(DnError::Syntax));
    }
}
