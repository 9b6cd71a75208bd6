"""Zeek's log fields and types, for logs written as JSON.

Zeek's TSV logs say each field's type in their ``#types`` header; its JSON logs do not, and leave
unset fields out. So that the JSON copy of a log makes the same table as its TSV copy (same
columns, same types), the fields of Zeek's default logs are listed here as the TSV headers of
Zeek 3.0 give them (the ``Info`` records of the ``base/`` and ``policy/`` scripts). A field a
JSON log has beyond these (a local script's) is typed from its value; a field listed here that a
log lacks is an empty column.
"""

from __future__ import annotations

from functools import cache

__all__ = ["known_log", "known_logs", "log_fields"]

_ID = "id.orig_h:addr id.orig_p:port id.resp_h:addr id.resp_p:port"
_GEO = (
    "remote_location.country_code:string remote_location.region:string remote_location.city:string "
    "remote_location.latitude:double remote_location.longitude:double"
)

# log path -> "field:type ..." in the order Zeek writes them
_LOGS: dict[str, str] = {
    "conn": f"ts:time uid:string {_ID} proto:enum service:string duration:interval orig_bytes:count "
    "resp_bytes:count conn_state:string local_orig:bool local_resp:bool missed_bytes:count history:string "
    "orig_pkts:count orig_ip_bytes:count resp_pkts:count resp_ip_bytes:count tunnel_parents:set[string]",
    "dce_rpc": f"ts:time uid:string {_ID} rtt:interval named_pipe:string endpoint:string operation:string",
    "dns": f"ts:time uid:string {_ID} proto:enum trans_id:count rtt:interval query:string qclass:count "
    "qclass_name:string qtype:count qtype_name:string rcode:count rcode_name:string AA:bool TC:bool RD:bool "
    "RA:bool Z:count answers:vector[string] TTLs:vector[interval] rejected:bool",
    "dpd": f"ts:time uid:string {_ID} proto:enum analyzer:string failure_reason:string",
    "files": "ts:time fuid:string tx_hosts:set[addr] rx_hosts:set[addr] conn_uids:set[string] source:string "
    "depth:count analyzers:set[string] mime_type:string filename:string duration:interval local_orig:bool "
    "is_orig:bool seen_bytes:count total_bytes:count missing_bytes:count overflow_bytes:count timedout:bool "
    "parent_fuid:string md5:string sha1:string sha256:string extracted:string extracted_cutoff:bool "
    "extracted_size:count",
    "ftp": f"ts:time uid:string {_ID} user:string password:string command:string arg:string "
    "mime_type:string file_size:count reply_code:count reply_msg:string data_channel.passive:bool "
    "data_channel.orig_h:addr data_channel.resp_h:addr data_channel.resp_p:port fuid:string",
    "http": f"ts:time uid:string {_ID} trans_depth:count method:string host:string uri:string "
    "referrer:string version:string user_agent:string origin:string request_body_len:count "
    "response_body_len:count status_code:count status_msg:string info_code:count info_msg:string "
    "tags:set[enum] username:string password:string proxied:set[string] orig_fuids:vector[string] "
    "orig_filenames:vector[string] orig_mime_types:vector[string] resp_fuids:vector[string] "
    "resp_filenames:vector[string] resp_mime_types:vector[string]",
    "kerberos": f"ts:time uid:string {_ID} request_type:string client:string service:string success:bool "
    "error_msg:string from:time till:time cipher:string forwardable:bool renewable:bool "
    "client_cert_subject:string client_cert_fuid:string server_cert_subject:string server_cert_fuid:string",
    "known_services": "ts:time host:addr port_num:port port_proto:enum service:set[string]",
    "notice": f"ts:time uid:string {_ID} fuid:string file_mime_type:string file_desc:string proto:enum "
    "note:enum msg:string sub:string src:addr dst:addr p:port n:count peer_descr:string actions:set[enum] "
    f"email_dest:set[string] suppress_for:interval {_GEO}",
    "ntlm": f"ts:time uid:string {_ID} username:string hostname:string domainname:string "
    "server_nb_computer_name:string server_dns_computer_name:string server_tree_name:string success:bool",
    "pe": "ts:time id:string machine:string compile_ts:time os:string subsystem:string is_exe:bool "
    "is_64bit:bool uses_aslr:bool uses_dep:bool uses_code_integrity:bool uses_seh:bool "
    "has_import_table:bool has_export_table:bool has_cert_table:bool has_debug_data:bool "
    "section_names:vector[string]",
    "rfb": f"ts:time uid:string {_ID} client_major_version:string client_minor_version:string "
    "server_major_version:string server_minor_version:string authentication_method:string auth:bool "
    "share_flag:bool desktop_name:string width:count height:count",
    "smb_files": f"ts:time uid:string {_ID} fuid:string action:enum path:string name:string size:count "
    "prev_name:string times.modified:time times.accessed:time times.created:time times.changed:time",
    "smb_mapping": f"ts:time uid:string {_ID} path:string service:string native_file_system:string "
    "share_type:string",
    "snmp": f"ts:time uid:string {_ID} duration:interval version:string community:string "
    "get_requests:count get_bulk_requests:count get_responses:count set_requests:count "
    "display_string:string up_since:time",
    "software": "ts:time host:addr host_p:port software_type:enum name:string version.major:count "
    "version.minor:count version.minor2:count version.minor3:count version.addl:string "
    "unparsed_version:string",
    "ssh": f"ts:time uid:string {_ID} version:count auth_success:bool auth_attempts:count direction:enum "
    "client:string server:string cipher_alg:string mac_alg:string compression_alg:string kex_alg:string "
    f"host_key_alg:string host_key:string {_GEO}",
    "ssl": f"ts:time uid:string {_ID} version:string cipher:string curve:string server_name:string "
    "resumed:bool last_alert:string next_protocol:string established:bool cert_chain_fuids:vector[string] "
    "client_cert_chain_fuids:vector[string] subject:string issuer:string client_subject:string "
    "client_issuer:string validation_status:string",
    "syslog": f"ts:time uid:string {_ID} proto:enum facility:string severity:string message:string",
    "weird": f"ts:time uid:string {_ID} name:string addl:string notice:bool peer:string",
    "x509": "ts:time fingerprint:string certificate.version:count certificate.serial:string "
    "certificate.subject:string certificate.issuer:string certificate.not_valid_before:time "
    "certificate.not_valid_after:time certificate.key_alg:string certificate.sig_alg:string "
    "certificate.key_type:string certificate.key_length:count certificate.exponent:string "
    "certificate.curve:string san.dns:vector[string] san.uri:vector[string] san.email:vector[string] "
    "san.ip:vector[addr] basic_constraints.ca:bool basic_constraints.path_len:count host_cert:bool "
    "client_cert:bool",
}


def known_log(path: str) -> bool:
    """Whether ``path`` (``conn``, ``dns``...) is one of the Zeek logs listed here."""
    return path in _LOGS


def known_logs() -> tuple[str, ...]:
    """The Zeek logs listed here."""
    return tuple(_LOGS)


@cache
def log_fields(path: str) -> tuple[tuple[str, str], ...]:
    """The (field, Zeek type) pairs of log ``path``, in Zeek's order; empty for a log not listed."""
    spec = _LOGS.get(path, "")
    return tuple((name, kind) for name, _, kind in (item.partition(":") for item in spec.split()))
