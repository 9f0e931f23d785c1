#!/usr/bin/python
"""Ansible module: one SNMPv3 (USM) user of net-snmp's snmpd, made through its persistent file."""
# The module runs on the managed host with Debian's Python 3, so it uses the standard
# library and ansible.module_utils only.

from __future__ import annotations

import hashlib
import hmac
import os
import pwd
import re
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: snmpd_usm_user
short_description: One SNMPv3 user of net-snmp's snmpd, created through its persistent file
description:
  - snmpd (net-snmp 5.9, snmpd.conf(5) section "SNMPv3 Users") reads C(createUser) lines
    of its persistent configuration at start, turns them into localized C(usmUser) lines
    and writes those back when it saves its state; it never shows a passphrase again.
  - So a run cannot read passphrases back. A digest of user and passphrases, computed by
    the caller, is kept in a marker file; the user is left alone when the marker holds
    that digest, the persistent file has exactly one C(usmUser) line of the user, and
    that line's protocols and keys are what the passphrases give for its engine ID
    (RFC 3414 section 2.6 and A.2, RFC 7860 for SHA-2): a user changed on the host
    outside the tool is created again.
  - Otherwise snmpd is stopped (it would overwrite the file at shutdown), the user's old
    C(usmUser)/C(createUser) lines are replaced by one C(createUser) line and the marker
    is written. The caller starts snmpd again; snmpd then creates the user.
options:
  name: {description: The user name (security name), required: true, type: str}
  auth_protocol: {description: "MD5, SHA or SHA-224..SHA-512", required: true, type: str}
  auth_passphrase: {description: At least 8 characters, required: true, type: str}
  priv_protocol: {description: "DES, AES, AES-192 or AES-256", required: true, type: str}
  priv_passphrase: {description: At least 8 characters, required: true, type: str}
  digest:
    description: What marks this exact user (no passphrase in clear)
    required: true
    type: str
  persistent_conf:
    description: snmpd's persistent file
    default: /var/lib/snmp/snmpd.conf
    type: path
  marker: {description: Where the digest is kept, required: true, type: path}
  owner: {description: Owner and group of the persistent file, default: Debian-snmp, type: str}
  service:
    description: The systemd unit stopped before the file changes
    default: snmpd
    type: str
"""

RETURN = r"""
reason:
  description: Why the user was (or would be) created; "" when it was left alone
  type: str
"""

AUTH_PROTOCOLS = ("MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
PRIV_PROTOCOLS = ("DES", "AES", "AES-192", "AES-256")
# Per auth protocol: the hash its keys are made with and its OID as snmpd writes it
# (SNMP-USER-BASED-SM-MIB usmHMACMD5AuthProtocol, usmHMACSHAAuthProtocol; RFC 7860's
# usmHMAC128SHA224AuthProtocol ... usmHMAC384SHA512AuthProtocol).
AUTH_KEYS = {"MD5": ("md5", ".1.3.6.1.6.3.10.1.1.2"), "SHA": ("sha1", ".1.3.6.1.6.3.10.1.1.3"),
             "SHA-224": ("sha224", ".1.3.6.1.6.3.10.1.1.4"),
             "SHA-256": ("sha256", ".1.3.6.1.6.3.10.1.1.5"),
             "SHA-384": ("sha384", ".1.3.6.1.6.3.10.1.1.6"),
             "SHA-512": ("sha512", ".1.3.6.1.6.3.10.1.1.7")}
# usmDESPrivProtocol and usmAesCfb128Protocol (RFC 3826). AES-192 and AES-256 have no
# OID of an RFC (net-snmp has used more than one): any other than these two.
PRIV_OIDS = {"DES": ".1.3.6.1.6.3.10.1.2.2", "AES": ".1.3.6.1.6.3.10.1.2.4"}
# The shortest privacy key: DES's and AES-128's 16 octets.
PRIV_KEY_MIN = 16
# A security name snmpd writes quoted and this module can match exactly.
NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,32}$")
# snmpd reads the passphrase between double quotes up to the next one, on one line.
FORBIDDEN_IN_PASSPHRASE = ('"', "\n", "\r", "\0")


def parameter_problems(params):
    """What makes the parameters unusable (list of str, without any passphrase in it)."""
    problems = []
    if not NAME.match(params["name"]):
        problems.append(f"user name {params['name']!r}: letters, digits, '_.@-' only, "
                        "1-32 characters")
    if params["auth_protocol"].upper() not in AUTH_PROTOCOLS:
        problems.append(f"auth_protocol {params['auth_protocol']!r}: one of "
                        f"{', '.join(AUTH_PROTOCOLS)}")
    if params["priv_protocol"].upper() not in PRIV_PROTOCOLS:
        problems.append(f"priv_protocol {params['priv_protocol']!r}: one of "
                        f"{', '.join(PRIV_PROTOCOLS)}")
    for which in ("auth_passphrase", "priv_passphrase"):
        value = params[which]
        if len(value) < 8:
            problems.append(f"{which}: shorter than 8 characters (RFC 3414 section 11.2)")
        if any(c in value for c in FORBIDDEN_IN_PASSPHRASE):
            problems.append(f"{which}: holds a double quote or a line break "
                            "(snmpd cannot read it)")
    if not params["digest"] or any(c.isspace() for c in params["digest"]):
        problems.append("digest: empty or with white space")
    return problems


def user_line_pattern(name):
    """The user's usmUser lines: snmpd writes a printable name quoted, as both names."""
    quoted = re.escape(f'"{name}"')
    return re.compile(rf"^usmUser .* {quoted} {quoted} ")


def entry_pattern(name):
    """Every line that defines the user: its usmUser lines and createUser lines."""
    return re.compile(rf'^(usmUser .* "{re.escape(name)}" |createUser {re.escape(name)} )')


def localized_key(hash_name, passphrase, engine_id):
    """The user's key for one SNMP engine: RFC 3414 A.2 (password to key: the passphrase
    repeated to 1 MiB, hashed) then 2.6 (localized: hash of key, engine ID, key).

    Args:
        hash_name: hashlib's name (md5, sha1, sha224 ... sha512).
        passphrase: str, at least 8 characters.
        engine_id: bytes, the snmpEngineID.

    Returns:
        bytes, the hash's length.
    """
    data = passphrase.encode("utf-8")
    repeated = (data * (1048576 // len(data) + 1))[:1048576]
    key = hashlib.new(hash_name, repeated).digest()
    return hashlib.new(hash_name, key + engine_id + key).digest()


def _octets(field):
    """A 0x-prefixed hex field of a usmUser line as bytes, None when it is not one."""
    if not field.lower().startswith("0x"):
        return None
    try:
        return bytes.fromhex(field[2:])
    except ValueError:
        return None


def key_reason(user_line, params):
    """Why the user's usmUser line is not what the parameters make, or "" when its
    protocols and keys are: snmpd writes `usmUser <storage> <status> <engineID> <name>
    <securityName> <cloneFrom> <authProtocol> <authKey> <privProtocol> <privKey> <public>`
    (net-snmp 5.9, snmplib/snmpusm.c usm_save_user). The privacy key is compared over
    the localized key's length at most (AES-192/256 keys extend it)."""
    fields = user_line.split()
    if len(fields) < 11:
        return "the user's usmUser line cannot be read"
    engine_id, auth_key, priv_key = _octets(fields[3]), _octets(fields[8]), _octets(fields[10])
    if not engine_id or auth_key is None or priv_key is None:
        return "the user's usmUser line cannot be read"
    hash_name, auth_oid = AUTH_KEYS[params["auth_protocol"].upper()]
    priv = params["priv_protocol"].upper()
    if fields[7] != auth_oid:
        return f"snmpd's user has another authentication protocol ({fields[7]})"
    if fields[9] != PRIV_OIDS.get(priv, fields[9]) or (
            priv not in PRIV_OIDS and fields[9] in PRIV_OIDS.values()):
        return f"snmpd's user has another privacy protocol ({fields[9]})"
    if not hmac.compare_digest(auth_key, localized_key(hash_name, params["auth_passphrase"],
                                                       engine_id)):
        return "snmpd's user has another authentication key (changed outside the tool)"
    wanted = localized_key(hash_name, params["priv_passphrase"], engine_id)
    length = min(len(priv_key), len(wanted))
    if length < PRIV_KEY_MIN or not hmac.compare_digest(priv_key[:length], wanted[:length]):
        return "snmpd's user has another privacy key (changed outside the tool)"
    return ""


def change_reason(persistent_text, marker_text, name, digest, params=None):
    """Why the user must be (re)created, or "" when snmpd has exactly this user.

    Args:
        params: the module's parameters; given, the usmUser line's protocols and keys
            are checked against them too (`key_reason`).
    """
    users = [line for line in persistent_text.splitlines() if user_line_pattern(name).match(line)]
    if not users:
        return f"no usmUser line of {name}"
    if len(users) > 1:
        return f"{len(users)} usmUser lines of {name}"
    if marker_text.strip() != digest:
        return "the user's digest differs (other passphrases or protocols)"
    return key_reason(users[0], params) if params is not None else ""


def create_user_line(params):
    """The createUser line snmpd turns into the user at its next start."""
    return (f'createUser {params["name"]} {params["auth_protocol"].upper()} '
            f'"{params["auth_passphrase"]}" {params["priv_protocol"].upper()} '
            f'"{params["priv_passphrase"]}"')


def replaced_persistent_text(persistent_text, params):
    """The persistent file with the user's old entries gone and one createUser line added."""
    pattern = entry_pattern(params["name"])
    kept = [line for line in persistent_text.splitlines() if not pattern.match(line)]
    return "\n".join([*kept, create_user_line(params)]) + "\n"


def read_text(path):
    """The file's text, "" when it does not exist yet (a fresh install).

    /var/lib/snmp belongs to snmpd's user: a symlink or anything but a regular file
    there is refused (OSError), never followed by root.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return ""
    with os.fdopen(fd, encoding="utf-8", errors="replace") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(f"{path} is not a regular file")
        return handle.read()


TEMPORARY_PREFIX = ".snmpd_usm_user."


def remove_leftovers(directory):
    """Remove temporary files a killed run left (root's regular files only: they may
    hold the passphrases of a createUser line)."""
    for name in os.listdir(directory):
        if not name.startswith(TEMPORARY_PREFIX):
            continue
        path = os.path.join(directory, name)
        info = os.lstat(path)
        if stat.S_ISREG(info.st_mode) and info.st_uid == 0:
            os.unlink(path)


def write_atomically(path, text, uid, gid):
    """Replace `path` by `text` (mode 0600, owned by uid:gid) in one rename.

    Mode and owner are set on the open file, never by path: the directory belongs to
    snmpd's user, who must not be able to point root's chown at another file.
    """
    directory = os.path.dirname(path) or "."
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=TEMPORARY_PREFIX)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            os.fchown(handle.fileno(), uid, gid)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "auth_protocol": {"type": "str", "required": True},
            "auth_passphrase": {"type": "str", "required": True, "no_log": True},
            "priv_protocol": {"type": "str", "required": True},
            "priv_passphrase": {"type": "str", "required": True, "no_log": True},
            "digest": {"type": "str", "required": True, "no_log": False},
            "persistent_conf": {"type": "path", "default": "/var/lib/snmp/snmpd.conf"},
            "marker": {"type": "path", "required": True},
            "owner": {"type": "str", "default": "Debian-snmp"},
            "service": {"type": "str", "default": "snmpd"},
        },
        supports_check_mode=True,
    )
    params = module.params
    problems = parameter_problems(params)
    if problems:
        module.fail_json(msg="snmpd_usm_user: " + "; ".join(problems))
    try:
        reason = change_reason(read_text(params["persistent_conf"]), read_text(params["marker"]),
                               params["name"], params["digest"], params)
    except OSError as exc:
        module.fail_json(msg=f"snmpd_usm_user: cannot read snmpd's files: {exc}")
    if not reason or module.check_mode:
        module.exit_json(changed=bool(reason), reason=reason)
    try:
        owner = pwd.getpwnam(params["owner"])
    except KeyError:
        module.fail_json(msg=f"snmpd_usm_user: no system user {params['owner']} "
                             "(is snmpd installed?)")
    # snmpd writes its persistent file when it stops: stopped first, it cannot undo the edit.
    rc, _out, err = module.run_command(["systemctl", "stop", params["service"]])
    if rc != 0:
        module.fail_json(msg=f"snmpd_usm_user: systemctl stop {params['service']} failed: "
                             f"{err.strip()}")
    try:
        remove_leftovers(os.path.dirname(params["persistent_conf"]) or ".")
        # Read again: the file snmpd just wrote at shutdown is the one to edit.
        persistent = read_text(params["persistent_conf"])
        write_atomically(params["persistent_conf"], replaced_persistent_text(persistent, params),
                         owner.pw_uid, owner.pw_gid)
        write_atomically(params["marker"], params["digest"] + "\n", 0, 0)
    except OSError as exc:
        module.fail_json(msg=f"snmpd_usm_user: cannot write snmpd's files: {exc}")
    module.exit_json(changed=True, reason=reason)


if __name__ == "__main__":
    main()
