-- Tessera schema v1 (SQLite). Keep in step with ../postgres/0001_init.sql.
-- Times are microseconds since the Unix epoch; ids are UUID v7 text (time-ordered).
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id                             TEXT PRIMARY KEY,
    tenant_id                      TEXT NOT NULL REFERENCES tenants(id),
    upn                            TEXT NOT NULL,
    upn_key                        TEXT NOT NULL,
    display_name                   TEXT NOT NULL,
    password_hash                  TEXT,
    account_enabled                INTEGER NOT NULL DEFAULT 1,
    mfa_state                      TEXT NOT NULL DEFAULT 'disabled'
                                   CHECK (mfa_state IN ('disabled', 'enabled', 'enforced')),
    remembered_devices_not_before  INTEGER,
    created_at                     INTEGER NOT NULL,
    UNIQUE (tenant_id, upn_key)
);
CREATE INDEX users_by_state ON users (tenant_id, mfa_state, upn_key);

CREATE TABLE role_assignments (
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role     TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

-- Registered authentication methods ("security info"). Secrets are encrypted by the service.
CREATE TABLE auth_methods (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    label         TEXT,
    secret        BLOB,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX auth_methods_by_user ON auth_methods (user_id);

CREATE TABLE app_passwords (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER
);
CREATE INDEX app_passwords_by_user ON app_passwords (user_id);

CREATE TABLE mfa_settings (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants(id),
    settings   TEXT NOT NULL
);

CREATE TABLE audit_log (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    time            INTEGER NOT NULL,
    actor_id        TEXT,
    actor_upn       TEXT NOT NULL,
    actor_key       TEXT NOT NULL,
    source_ip       TEXT,
    action          TEXT NOT NULL,
    target_id       TEXT,
    target_upn      TEXT,
    target_key      TEXT,
    before_value    TEXT,
    after_value     TEXT,
    correlation_id  TEXT NOT NULL
);
CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, id);

CREATE TABLE signin_log (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    time             INTEGER NOT NULL,
    user_id          TEXT,
    upn              TEXT NOT NULL,
    source_ip        TEXT,
    user_agent       TEXT,
    client           TEXT NOT NULL,
    result           TEXT NOT NULL,
    failure_reason   TEXT,
    mfa_required_by  TEXT NOT NULL,
    mfa_method       TEXT
);
CREATE INDEX signin_log_by_tenant ON signin_log (tenant_id, id);

CREATE TABLE api_tokens (
    token_hash  TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
