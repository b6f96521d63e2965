//! A bare LDAP client over ldap3_proto's codec, for requests the OpenLDAP tools cannot send
//! here (a SASL bind without SASL plugins, LDAPv2, critical controls, compare answers).

use futures_util::{SinkExt, StreamExt};
use ldap3_proto::LdapCodec;
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{LdapMsg, LdapOp, LdapResult};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

pub struct Raw {
    framed: Framed<TcpStream, LdapCodec>,
    next_id: i32,
}

impl Raw {
    /// Connects to `ldap://HOST:PORT`.
    pub async fn connect(url: &str) -> Raw {
        let addr = url.trim_start_matches("ldap://");
        let stream = TcpStream::connect(addr).await.expect("connect");
        Raw { framed: Framed::new(stream, LdapCodec::default()), next_id: 1 }
    }

    /// Sends a request and returns every answer to it, up to its final one.
    pub async fn request(&mut self, op: LdapOp, ctrl: Vec<LdapControl>) -> Vec<LdapOp> {
        let id = self.next_id;
        self.next_id += 1;
        self.framed.send(LdapMsg::new_with_ctrls(id, op, ctrl)).await.expect("send");
        let mut answers = Vec::new();
        loop {
            let msg = tokio::time::timeout(std::time::Duration::from_secs(30), self.framed.next())
                .await
                .expect("an answer in time")
                .expect("an answer")
                .expect("a valid answer");
            assert_eq!(msg.msgid, id, "{msg:?}");
            let last = !matches!(msg.op, LdapOp::SearchResultEntry(_) | LdapOp::SearchResultReference(_));
            answers.push(msg.op);
            if last {
                return answers;
            }
        }
    }

    /// Unbinds; the server closes the connection.
    pub async fn send_unbind_and_expect_close(mut self) {
        self.framed.send(LdapMsg::new(self.next_id, LdapOp::UnbindRequest)).await.expect("send");
        let end = tokio::time::timeout(std::time::Duration::from_secs(10), self.framed.next()).await;
        assert!(matches!(end, Ok(None)), "the server did not close the connection: {end:?}");
    }

    /// The result of the final answer to a request.
    pub async fn result(&mut self, op: LdapOp, ctrl: Vec<LdapControl>) -> LdapResult {
        match self.request(op, ctrl).await.pop().expect("an answer") {
            LdapOp::BindResponse(r) => r.res,
            LdapOp::ExtendedResponse(r) => r.res,
            LdapOp::SearchResultDone(r)
            | LdapOp::CompareResult(r)
            | LdapOp::ModifyResponse(r)
            | LdapOp::AddResponse(r)
            | LdapOp::DelResponse(r)
            | LdapOp::ModifyDNResponse(r) => r,
            other => panic!("not a final answer: {other:?}"),
        }
    }
}
