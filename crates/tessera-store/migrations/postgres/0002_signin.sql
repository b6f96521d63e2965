-- Sign-in (PostgreSQL): sessions, throttling, recovery codes, TOTP replay protection.
-- Keep in step with ../sqlite/0002_signin.sql.
ALTER TABLE auth_methods ADD COLUMN last_used_step BIGINT;

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE sessions (
    id_hash         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    stage           TEXT NOT NULL,
    csrf            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    mfa_at          BIGINT,
    mfa_method      TEXT,
    source_ip       TEXT,
    user_agent      TEXT,
    pending_secret  BYTEA
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Attempts per key (account, IP) in the current window.
CREATE TABLE throttle (
    key           TEXT COLLATE "C" PRIMARY KEY,
    window_start  BIGINT NOT NULL,
    attempts      BIGINT NOT NULL
);
