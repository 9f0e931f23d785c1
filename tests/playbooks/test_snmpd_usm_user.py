"""The snmpd_usm_user module's logic (pure; test_site_playbook.py runs it on a lab host:
the user is created, kept on a re-run and re-created when its passphrase changes)."""

from __future__ import annotations

import importlib.util
import os
import stat
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

MODULE = Path(__file__).resolve().parents[2] / "playbooks" / "roles" / "snmpd" / "library" / \
    "snmpd_usm_user.py"


@pytest.fixture(scope="module")
def usm() -> ModuleType:
    spec = importlib.util.spec_from_file_location("snmpd_usm_user", MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def params(**changed: Any) -> dict[str, Any]:
    return {"name": "provisioner", "auth_protocol": "SHA", "auth_passphrase": "auth-pass-1",
            "priv_protocol": "AES", "priv_passphrase": "priv-pass-1", "digest": "d1",
            **changed}


USM = ('usmUser 1 3 0x80001f88806a0b "provisioner" "provisioner" NULL .1.3.6.1.6.3.10.1.1.3 '
       '0x11 .1.3.6.1.6.3.10.1.2.4 0x22 ""')
OTHER = 'usmUser 1 3 0x80001f88806a0b "provisioner2" "provisioner2" NULL .1.3 0x1 .1.3 0x2 ""'


def test_an_unchanged_user_is_left_alone(usm: ModuleType) -> None:
    assert usm.change_reason(f"engineBoots 3\n{USM}\n", "d1\n", "provisioner", "d1") == ""


@pytest.mark.parametrize(("persistent", "marker", "reason"), [
    ("", "", "no usmUser line of provisioner"),
    (f"{OTHER}\n", "d1", "no usmUser line of provisioner"),
    ('createUser provisioner SHA "a" AES "b"\n', "d1", "no usmUser line of provisioner"),
    (f"{USM}\n{USM}\n", "d1", "2 usmUser lines of provisioner"),
    (f"{USM}\n", "", "the user's digest differs"),
    (f"{USM}\n", "d0", "the user's digest differs"),
])
def test_what_makes_the_user_be_created(usm: ModuleType, persistent: str, marker: str,
                                        reason: str) -> None:
    assert usm.change_reason(persistent, marker, "provisioner", "d1").startswith(reason)


def test_the_user_is_replaced_and_everything_else_kept(usm: ModuleType) -> None:
    text = (f"engineBoots 3\n{USM}\ncreateUser provisioner MD5 \"old-pass-0\" DES \"x\"\n"
            f"{OTHER}\noldEngineID 0x80001f88806a0b\n")
    assert usm.replaced_persistent_text(text, params()).splitlines() == [
        "engineBoots 3", OTHER, "oldEngineID 0x80001f88806a0b",
        'createUser provisioner SHA "auth-pass-1" AES "priv-pass-1"']


def test_a_name_is_matched_exactly_not_as_a_pattern(usm: ModuleType) -> None:
    dotted = USM.replace('"provisioner"', '"prov.sioner"')
    assert usm.change_reason(f"{dotted}\n", "d1", "provXsioner", "d1").startswith("no usmUser")
    assert usm.replaced_persistent_text(f"{dotted}\n", params(name="provXsioner")).startswith(
        dotted)


def test_good_parameters_have_no_problems(usm: ModuleType) -> None:
    assert usm.parameter_problems(params(auth_protocol="sha-256", priv_protocol="aes")) == []


@pytest.mark.parametrize(("changed", "problem"), [
    ({"auth_passphrase": "Xq7!z"}, "auth_passphrase: shorter than 8"),
    ({"priv_passphrase": 'has"quote'}, "priv_passphrase: holds a double quote"),
    ({"auth_passphrase": "two\nlines-here"}, "auth_passphrase: holds a double quote or a line"),
    ({"auth_protocol": "SHA1"}, "auth_protocol 'SHA1'"),
    ({"priv_protocol": "3DES"}, "priv_protocol '3DES'"),
    ({"name": "two words"}, "user name 'two words'"),
    ({"name": 'x" "x'}, "user name"),
    ({"digest": ""}, "digest: empty"),
])
def test_unusable_parameters_are_named_without_the_passphrase(usm: ModuleType,
                                                               changed: dict[str, str],
                                                               problem: str) -> None:
    problems = usm.parameter_problems(params(**changed))
    assert any(p.startswith(problem) for p in problems), problems
    for secret in ("Xq7!z", 'has"quote', "two\nlines-here"):
        assert all(secret not in p for p in problems)


def test_files_are_replaced_whole_and_private(usm: ModuleType, tmp_path: Path) -> None:
    target = tmp_path / "snmpd.conf"
    target.write_text("old\n", encoding="utf-8")
    os.chmod(target, 0o644)
    usm.write_atomically(str(target), "new\n", os.getuid(), os.getgid())
    assert target.read_text(encoding="utf-8") == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["snmpd.conf"]


def test_a_missing_file_reads_as_empty(usm: ModuleType, tmp_path: Path) -> None:
    assert usm.read_text(str(tmp_path / "absent")) == ""


def test_a_symlink_is_never_followed(usm: ModuleType, tmp_path: Path) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("root:secret\n", encoding="utf-8")
    (tmp_path / "snmpd.conf").symlink_to(secret)
    with pytest.raises(OSError):
        usm.read_text(str(tmp_path / "snmpd.conf"))


def test_anything_but_a_regular_file_is_refused(usm: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "snmpd.conf").mkdir()
    with pytest.raises(OSError):
        usm.read_text(str(tmp_path / "snmpd.conf"))


@pytest.mark.skipif(os.geteuid() != 0, reason="the leftovers it removes are root's")
def test_a_killed_runs_leftovers_are_removed(usm: ModuleType, tmp_path: Path) -> None:
    (tmp_path / ".snmpd_usm_user.abc123").write_text('createUser u SHA "p"', encoding="utf-8")
    (tmp_path / "snmpd.conf").write_text("kept\n", encoding="utf-8")
    usm.remove_leftovers(str(tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == ["snmpd.conf"]


@pytest.mark.parametrize(("hash_name", "key"), [
    # RFC 3414 A.3.1 and A.3.2: "maplesyrup" for engine 00...02.
    ("md5", "526f5eed9fcce26f8964c2930787d82b"),
    ("sha1", "6695febc9288e36282235fc7151f128497b38f3f"),
])
def test_keys_are_localized_as_rfc_3414_says(usm: ModuleType, hash_name: str, key: str) -> None:
    engine = bytes.fromhex("000000000000000000000002")
    assert usm.localized_key(hash_name, "maplesyrup", engine).hex() == key


ENGINE = "80001f88807c2f2e2e9d98146b00000000"


def user_line(usm: ModuleType, auth: str = "auth-pass-1", priv: str = "priv-pass-1",
              auth_oid: str = ".1.3.6.1.6.3.10.1.1.3", priv_oid: str = ".1.3.6.1.6.3.10.1.2.4",
              priv_octets: int = 16) -> str:
    """A usmUser line as snmpd 5.9 writes it for these passphrases (SHA, AES)."""
    engine = bytes.fromhex(ENGINE)
    auth_key = usm.localized_key("sha1", auth, engine).hex()
    priv_key = usm.localized_key("sha1", priv, engine)[:priv_octets].hex()
    return (f'usmUser 1 3 0x{ENGINE} "provisioner" "provisioner" NULL {auth_oid} '
            f'0x{auth_key} {priv_oid} 0x{priv_key} ""')


def test_a_user_whose_keys_match_the_passphrases_is_left_alone(usm: ModuleType) -> None:
    assert usm.change_reason(f"{user_line(usm)}\n", "d1", "provisioner", "d1", params()) == ""


@pytest.mark.parametrize(("changed", "reason"), [
    # Created again on the host with another passphrase: the marker cannot tell.
    ({"auth": "someone-elses-1"}, "snmpd's user has another authentication key"),
    ({"priv": "someone-elses-2"}, "snmpd's user has another privacy key"),
    ({"auth_oid": ".1.3.6.1.6.3.10.1.1.2"}, "snmpd's user has another authentication protocol"),
    ({"priv_oid": ".1.3.6.1.6.3.10.1.2.2"}, "snmpd's user has another privacy protocol"),
    ({"priv_octets": 8}, "snmpd's user has another privacy key"),
])
def test_a_user_changed_outside_the_tool_is_created_again(
        usm: ModuleType, changed: dict[str, Any], reason: str) -> None:
    line = user_line(usm, **changed)
    assert usm.change_reason(f"{line}\n", "d1", "provisioner", "d1", params()).startswith(reason)


def test_longer_privacy_keys_are_compared_over_the_localized_key(usm: ModuleType) -> None:
    # AES-256 with SHA: snmpd extends the 20 octets of the localized key to 32.
    localized = user_line(usm, priv_oid=".1.3.6.1.4.1.14832.1.4", priv_octets=20)
    line = localized.removesuffix(' ""') + "0b" * 12 + ' ""'
    assert usm.key_reason(line, params(priv_protocol="AES-256")) == ""
    # ... but AES-256 asked for and AES-128's OID found is another protocol.
    assert usm.key_reason(user_line(usm), params(priv_protocol="AES-256")).startswith(
        "snmpd's user has another privacy protocol")


@pytest.mark.parametrize("line", [
    'usmUser 1 3 0x80 "provisioner" "provisioner" NULL',
    'usmUser 1 3 zz "provisioner" "provisioner" NULL .1.3.6.1.6.3.10.1.1.3 0x11 '
    '.1.3.6.1.6.3.10.1.2.4 0x22 ""',
    'usmUser 1 3 0x80 "provisioner" "provisioner" NULL .1.3.6.1.6.3.10.1.1.3 0xgg '
    '.1.3.6.1.6.3.10.1.2.4 0x22 ""',
])
def test_a_line_that_cannot_be_read_makes_the_user_anew(usm: ModuleType, line: str) -> None:
    assert usm.key_reason(line, params()) == "the user's usmUser line cannot be read"
