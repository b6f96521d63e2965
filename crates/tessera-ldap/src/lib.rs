//! Tessera over LDAP, for legacy clients (mail clients, printers, VPNs): a read-only LDAPv3
//! listener, plain or LDAPS, that calls the core's legacy-client services.
//!
//! - **Bind**: simple bind by UPN (`alice@contoso.com`, when exactly one tenant has it) or by
//!   DN (`uid=alice@contoso.com,ou=users,o=contoso`), with the password or an app password.
//!   Anonymous bind (no name, no password) is allowed but reads only the root DSE; a name
//!   without a password is refused (unwillingToPerform, RFC 4513 §5.1.2); SASL is not
//!   supported.
//! - **Search** of the bound user's tenant (`o=<slug>`, `ou=users,o=<slug>`, users), **compare**
//!   and **Who am I?** (RFC 4532). Every change is refused (unwillingToPerform).
//!
//! Each connection is its own task: requests run one at a time, a connection idle for too
//! long is closed, and a bad one affects no other.

mod directory;
mod dn;
mod entry;
mod filter;
mod search;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use ldap3_proto::LdapCodec;
use ldap3_proto::proto::{LdapExtendedResponse, LdapMsg, LdapOp, LdapResultCode};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::Framed;

pub use directory::Directory;
pub use dn::user_dn;

use session::{Next, Session, result};

/// The limits of the listener.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections open at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// The largest request (BER-encoded) a client may send; a larger one closes the connection.
    pub max_message_bytes: usize,
    /// A connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// The longest a search may run (a client's time limit can only shorten it).
    pub search_time: Duration,
    /// The most entries one search returns (a client's size limit can only lower it).
    pub max_entries: usize,
    /// The longest a client may take to complete the TLS handshake (LDAPS).
    pub handshake_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            max_message_bytes: 32 * 1024,
            idle_timeout: Duration::from_secs(300),
            search_time: Duration::from_secs(60),
            max_entries: 1000,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// The TLS configuration of LDAPS: the HTTPS one (same certificate and key) without its
/// ALPN protocols, which name HTTP.
pub fn ldaps_acceptor(https: &TlsAcceptor) -> TlsAcceptor {
    let mut config = (**https.config()).clone();
    config.alpn_protocols.clear();
    TlsAcceptor::from(Arc::new(config))
}

/// Serves LDAP (or LDAPS, with `tls`) on `listener` until the task is dropped.
pub async fn serve<D: Directory>(listener: TcpListener, tls: Option<TlsAcceptor>, dir: D, limits: Limits) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "LDAP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max = limits.max_connections, "too many LDAP connections: closing a new one");
            continue;
        };
        let (dir, tls) = (dir.clone(), tls.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            match tls {
                None => connection(stream, peer, dir, limits).await,
                Some(acceptor) => match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => connection(stream, peer, dir, limits).await,
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "LDAPS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "LDAPS handshake timed out"),
                },
            }
        });
    }
}

/// One connection: requests in turn until unbind, end of stream, an error or idleness.
async fn connection<T, D>(io: T, peer: SocketAddr, dir: D, limits: Limits)
where
    T: AsyncRead + AsyncWrite + Unpin + Send,
    D: Directory,
{
    let mut framed = Framed::new(io, LdapCodec::new(Some(limits.max_message_bytes), None));
    let mut session = Session::new(dir, peer.ip().to_canonical(), limits);
    // A request that cannot finish in this time (a client that stops reading its results)
    // ends the connection.
    let op_timeout = limits.search_time + Duration::from_secs(60);
    loop {
        let msg = match tokio::time::timeout(limits.idle_timeout, framed.next()).await {
            Ok(Some(Ok(msg))) => msg,
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                tracing::debug!(%peer, error = %e, "malformed LDAP request: closing");
                disconnect(&mut framed, LdapResultCode::ProtocolError, "malformed or oversized request").await;
                break;
            }
            Err(_) => {
                tracing::debug!(%peer, "LDAP connection idle: closing");
                disconnect(&mut framed, LdapResultCode::Unavailable, "idle for too long").await;
                break;
            }
        };
        match tokio::time::timeout(op_timeout, session.handle(msg, &mut framed)).await {
            Ok(Ok(Next::Continue)) => {}
            Ok(Ok(Next::Close)) => break,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "LDAP connection lost");
                break;
            }
            Err(_) => {
                tracing::debug!(%peer, "LDAP request did not finish in time: closing");
                break;
            }
        }
    }
}

/// A Notice of Disconnection (RFC 4511 §4.4.1), sent as the server closes a connection.
async fn disconnect<T>(framed: &mut Framed<T, LdapCodec>, code: LdapResultCode, message: &str)
where
    T: AsyncRead + AsyncWrite + Unpin + Send,
{
    let notice = LdapExtendedResponse {
        res: result(code, message),
        name: Some("1.3.6.1.4.1.1466.20036".to_owned()),
        value: None,
    };
    let send = framed.send(LdapMsg::new(0, LdapOp::ExtendedResponse(notice)));
    let _ = tokio::time::timeout(Duration::from_secs(1), send).await;
}
