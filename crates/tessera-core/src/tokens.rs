//! Secrets a client presents on each request: the browser's session cookie and the API's
//! bearer token. Typed so a service cannot be handed an id where a secret belongs, and never
//! `Debug` or `Display`, so a secret cannot end up in a log line by accident.

macro_rules! secret_token {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// The secret as the client sent it; any text is accepted (an unknown token is
            /// simply not found).
            pub fn new(secret: impl Into<String>) -> Self {
                Self(secret.into())
            }

            /// The secret itself, for hashing or for handing back to its client.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(***)"))
            }
        }
    };
}

secret_token!(
    /// The value of a browser's session cookie.
    SessionToken
);
secret_token!(
    /// An API bearer token (`Authorization: Bearer ...`).
    BearerToken
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let t = SessionToken::from("s3cret");
        assert_eq!(format!("{t:?}"), "SessionToken(***)");
        assert_eq!(BearerToken::new("abc").expose(), "abc");
    }
}
