-- Sign-in (SQLite): sessions, throttling, recovery codes, TOTP replay protection.
-- Keep in step with ../postgres/0002_signin.sql.
ALTER TABLE auth_methods ADD COLUMN last_used_step INTEGER;

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE sessions (
    id_hash         TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    stage           TEXT NOT NULL,
    csrf            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    mfa_at          INTEGER,
    mfa_method      TEXT,
    source_ip       TEXT,
    user_agent      TEXT,
    pending_secret  BLOB
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Attempts per key (account, IP) in the current window.
CREATE TABLE throttle (
    key           TEXT PRIMARY KEY,
    window_start  INTEGER NOT NULL,
    attempts      INTEGER NOT NULL
);
