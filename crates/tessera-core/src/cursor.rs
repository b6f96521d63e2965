//! Paging cursors, shared by the services (which decode what a client sends back) and the
//! store adapters (which encode the last key of a page). Cursors are opaque to clients: the
//! base64url of the last key of the page.

use base64::Engine;

use crate::error::CoreError;

pub fn encode_cursor(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes())
}

pub fn decode_cursor(cursor: &str) -> Result<String, CoreError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            CoreError::InvalidCursor("the cursor is not valid: pass the `next` value of the previous page".into())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        assert_eq!(decode_cursor(&encode_cursor("alice@contoso.com")).unwrap(), "alice@contoso.com");
        assert!(matches!(decode_cursor("!!!"), Err(CoreError::InvalidCursor(_))));
    }
}
