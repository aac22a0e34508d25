"""Which system relations model-written SQL may read (the guard's check of every relation it names).

The reader login the hub recommends holds `pg_read_all_data`, which reads every relation, system
catalogs included: password hashes (`pg_authid`), connection strings with passwords
(`pg_subscription`), foreign-server credentials (`pg_user_mapping`), and copies of table data that
escape column masking and outsider marking (the planner's sample values in `pg_statistic`, large
objects' pages). Privileges cannot take those back from it (system catalogs take no row security,
and `pg_read_all_data` passes every SELECT check), so the guard names what a read may touch:

- in `pg_catalog`, only the relations of `ALLOWED` (what describes the schema, the server's activity
  and its settings); one a newer server adds is refused until it is reviewed and listed;
- in any other schema whose name starts with `pg_` (`pg_toast`: raw chunks of table data;
  `pg_temp`), nothing;
- a name without a schema that starts with `pg_` is taken for the catalog's (it comes first in
  the search path): a table of one's own with such a name is read by qualifying it.

`information_schema` shows only what the role may see, and stays open. `REFUSED` says why each
known relation is left out (tests check that every catalog of the server is in one list or the other).
"""

from __future__ import annotations

from mcp_hub.errors import PolicyDenied

_OTHERS = "it shows SQL text other callers of the hub sent (they share the reader's pooled sessions)"

REFUSED: dict[str, str] = {
    "pg_authid": "it holds the roles' password hashes",
    "pg_shadow": "it holds the roles' password hashes",
    "pg_user_mapping": "it holds user-mapping options (foreign servers' passwords)",
    "pg_user_mappings": "it holds user-mapping options (foreign servers' passwords)",
    "pg_subscription": "it holds subscriptions' connection strings (with passwords)",
    "pg_db_role_setting": "it holds per-role settings, which may carry secrets",
    "pg_statistic": "it holds sample values of every column (they escape masking and outsider marking)",
    "pg_statistic_ext_data": "it holds sample values of every column (they escape masking and outsider marking)",
    "pg_stats": "it shows sample values of every column (they escape masking and outsider marking)",
    "pg_stats_ext": "it shows sample values of every column (they escape masking and outsider marking)",
    "pg_stats_ext_exprs": "it shows sample values of every column (they escape masking and outsider marking)",
    "pg_largeobject": "it holds the contents of large objects",
    "pg_hba_file_rules": "it reads the server's files",
    "pg_ident_file_mappings": "it reads the server's files",
    "pg_file_settings": "it reads the server's files",
    "pg_stat_activity": _OTHERS,
    "pg_prepared_statements": _OTHERS,
    "pg_cursors": _OTHERS,
}

ALLOWED = frozenset(
    """
    pg_aggregate pg_am pg_amop pg_amproc pg_attrdef pg_attribute pg_auth_members
    pg_available_extension_versions pg_available_extensions pg_backend_memory_contexts pg_cast pg_class
    pg_collation pg_config pg_constraint pg_conversion pg_database pg_default_acl pg_depend
    pg_description pg_enum pg_event_trigger pg_extension pg_foreign_data_wrapper pg_foreign_server
    pg_foreign_table pg_group pg_index pg_indexes pg_inherits pg_init_privs pg_language
    pg_largeobject_metadata pg_locks pg_matviews pg_namespace pg_opclass pg_operator pg_opfamily
    pg_parameter_acl pg_partitioned_table pg_policies pg_policy pg_prepared_xacts
    pg_proc pg_publication pg_publication_namespace pg_publication_rel pg_publication_tables pg_range
    pg_replication_origin pg_replication_origin_status pg_replication_slots pg_rewrite pg_roles pg_rules
    pg_seclabel pg_seclabels pg_sequence pg_sequences pg_settings pg_shdepend pg_shdescription
    pg_shmem_allocations pg_shseclabel pg_stat_all_indexes pg_stat_all_tables
    pg_stat_archiver pg_stat_bgwriter pg_stat_checkpointer pg_stat_database pg_stat_database_conflicts
    pg_stat_gssapi pg_stat_io pg_stat_progress_analyze pg_stat_progress_basebackup pg_stat_progress_cluster
    pg_stat_progress_copy pg_stat_progress_create_index pg_stat_progress_vacuum pg_stat_recovery_prefetch
    pg_stat_replication pg_stat_replication_slots pg_stat_slru pg_stat_ssl pg_stat_subscription
    pg_stat_subscription_stats pg_stat_sys_indexes pg_stat_sys_tables pg_stat_user_functions
    pg_stat_user_indexes pg_stat_user_tables pg_stat_wal pg_stat_wal_receiver pg_stat_xact_all_tables
    pg_stat_xact_sys_tables pg_stat_xact_user_functions pg_stat_xact_user_tables pg_statio_all_indexes
    pg_statio_all_sequences pg_statio_all_tables pg_statio_sys_indexes pg_statio_sys_sequences
    pg_statio_sys_tables pg_statio_user_indexes pg_statio_user_sequences pg_statio_user_tables
    pg_statistic_ext pg_subscription_rel pg_tables pg_tablespace pg_timezone_abbrevs pg_timezone_names
    pg_transform pg_trigger pg_ts_config pg_ts_config_map pg_ts_dict pg_ts_parser pg_ts_template pg_type
    pg_user pg_views pg_wait_events
    """.split()  # noqa: SIM905 - a word list reads better than 130 quoted strings
)

_OPEN_SCHEMAS = frozenset({"pg_catalog", "information_schema"})


def check_relation(schema: str | None, name: str) -> None:
    """Raise PolicyDenied when a read names a system relation it may not read (see the module doc).

    `schema` and `name` as the parser decoded them (unquoted names folded to lower case)."""
    if schema is not None and schema.startswith("pg_") and schema not in _OPEN_SCHEMAS:
        raise PolicyDenied(
            f"reading {schema}.{name} is refused in read-only mode: the {schema} schema holds the server's own "
            "data (toast chunks of other tables, temporary tables). Read the tables themselves."
        )
    if schema not in (None, "pg_catalog") or not name.startswith("pg_") or name in ALLOWED:
        return
    why = REFUSED.get(name, "it is not on the hub's list of system relations a read may name")
    raise PolicyDenied(
        f"reading pg_catalog.{name} is refused in read-only mode: {why}. Describe the schema through "
        "information_schema or the other pg_catalog views; a table of your own whose name starts with pg_ "
        "is read with its schema written (public.pg_…)."
    )
