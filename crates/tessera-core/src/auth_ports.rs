//! The storage port of sign-in: sessions, throttling, registered methods and their one-time
//! use. Each method is one atomic statement (or one transaction inside the adapter), so the
//! checks hold under concurrent requests and across processes sharing one database.

use std::future::Future;

use time::OffsetDateTime;

use crate::ids::UserId;
use crate::ports::StoreResult;
use crate::session::{MethodInfo, NewMethod, Session, ThrottleKey, ThrottlePolicy, ThrottleState, TotpMethod};

pub trait AuthStore: Send + Sync {
    /// Counts one attempt on each key, all in one atomic statement, and returns each key's
    /// count in its current window, in the order given (a window older than the key's
    /// `policy.window` starts again at 1). The keys differ.
    fn throttle_hit(
        &self,
        hits: &[(&ThrottleKey, &ThrottlePolicy)],
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<Vec<ThrottleState>>> + Send;
    /// A success, in one atomic statement: forgets `clear` (success on the account: its next
    /// attempt starts a new window) and takes back the attempt counted on `release` (a
    /// success that must not count).
    fn throttle_settle(
        &self,
        clear: &ThrottleKey,
        release: Option<&ThrottleKey>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    fn insert_session(&self, s: &Session) -> impl Future<Output = StoreResult<()>> + Send;
    fn session(&self, id_hash: &str) -> impl Future<Output = StoreResult<Option<Session>>> + Send;
    /// Replaces a session by another (new id): used at every stage change so the id changes at sign-in.
    fn replace_session(&self, old_hash: &str, new: &Session) -> impl Future<Output = StoreResult<()>> + Send;
    fn update_session(&self, s: &Session) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_session(&self, id_hash: &str) -> impl Future<Output = StoreResult<()>> + Send;
    fn user_sessions(&self, user: UserId) -> impl Future<Output = StoreResult<Vec<Session>>> + Send;

    fn methods(&self, user: UserId) -> impl Future<Output = StoreResult<Vec<MethodInfo>>> + Send;
    fn totp_methods(&self, user: UserId) -> impl Future<Output = StoreResult<Vec<TotpMethod>>> + Send;
    /// Marks TOTP `step` used on the method, atomically; false when this step or a later one
    /// was used already (a replay).
    fn consume_totp_step(
        &self,
        method: crate::ids::MethodId,
        step: i64,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Marks an unused recovery code used, atomically; false when there is none with that hash.
    fn consume_recovery_code(
        &self,
        user: UserId,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn recovery_codes_left(&self, user: UserId) -> impl Future<Output = StoreResult<u32>> + Send;

    /// Every stored method secret (for key rotation).
    fn all_secrets(&self) -> impl Future<Output = StoreResult<Vec<TotpMethod>>> + Send;
    fn update_secret(
        &self,
        method: crate::ids::MethodId,
        secret: &[u8],
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Writes of sign-in that go with other changes (state, audit) in one transaction.
pub trait AuthTx: Send {
    /// Ends every browser session and API token of the user; returns how many.
    fn delete_user_sessions(&mut self, user: UserId) -> impl Future<Output = StoreResult<u64>> + Send;
    fn insert_method(&mut self, m: &NewMethod) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes one method of the user; false when it was not theirs.
    fn delete_method(
        &mut self,
        user: UserId,
        method: crate::ids::MethodId,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Replaces the user's recovery codes by these hashes.
    fn replace_recovery_codes(
        &mut self,
        user: UserId,
        hashes: &[String],
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
