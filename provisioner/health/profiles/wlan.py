"""WLAN controllers and access points: clients per AP, radios and SSIDs per vendor MIB.

Sources:
- Aruba Instant clusters: AI-AP-MIB (1.3.6.1.4.1.14823.2.3.3.1) aiAccessPointTable,
  aiRadioTable, aiWlanTable, aiClientTable (clients mapped to APs by aiClientAPIPAddress).
- Aruba controllers (ArubaOS 6/8, e.g. 7010, 7210): WLSX-WLAN-MIB (1.3.6.1.4.1.14823.2.2.1.5)
  wlsxWlanAPTable .2.1.4.1, wlsxWlanRadioTable .2.1.5.1, wlsxWlanAPBssidTable .2.1.7.1,
  wlsxWlanStationTable .2.2.1.1; WLSX-USER-MIB wlsxUserTable 1.3.6.1.4.1.14823.2.2.1.4.1.2.1
  (nUserApBSSID) where the station table lacks the AP's BSSID.
- Ubiquiti airMAX (e.g. NanoStation M5): UBNT-AirMAX-MIB (1.3.6.1.4.1.41112.1.4)
  ubntRadioTable .1.1, ubntWlStatTable .5.1, ubntStaTable .7.1; IEEE802dot11-MIB
  (1.2.840.10036) dot11manufacturerProductName/Version and dot11CurrentChannel.
- Ubiquiti UniFi access points: UBNT-UniFi-MIB (1.3.6.1.4.1.41112.1.6) unifiVapTable
  .1.2.1 (unifiVapChannel .4, unifiVapEssId .6, unifiVapNumStations .8, unifiVapRadio
  .9: "ng" 2.4 GHz, "na" 5 GHz); model and firmware from IEEE802dot11-MIB as airMAX.
  A UniFi AP answers under Ubiquiti's enterprise number like airMAX does but has no
  UBNT-AirMAX-MIB: LibreNMS tells them apart by sysDescr ("UAP...", "U6...").
- Cisco wireless LAN controllers (AireOS): AIRESPACE-WIRELESS-MIB (1.3.6.1.4.1.14179)
  bsnAPTable 2.2.1.1, bsnAPIfTable 2.2.2.1, bsnMobileStationTable 2.1.4.1,
  bsnDot11EssTable 2.1.1.1.
Clients per AP come from the radios' own counts where the MIB has them, else from the
station table mapped to its AP. The total is the device's own count where its MIB has
one (Aruba: wlsxSwitchTotalNumStationsAssociated, else wlsxWlanTotalNumStationsAssociated),
else the station table's row count, else the sum over APs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from provisioner.health.facts import AccessPointFacts, RadioFacts, WlanFacts
from provisioner.health.profiles.base import Draft, Reader, Section
from provisioner.snmp import SYS_NAME

UP_DOWN = {1: "up", 2: "down"}


def mac_index(index: str) -> str:
    """A MAC address written as six decimal OID arcs, as aa:bb:cc:dd:ee:ff."""
    parts = index.split(".")
    if len(parts) == 6 and all(p.isdigit() and int(p) < 256 for p in parts):
        return ":".join(f"{int(p):02x}" for p in parts)
    return index


def _octets_index(index: str) -> str | None:
    # A string index (length-prefixed, one arc per byte), e.g. an ESSID "5.66.85.80.84.49".
    parts = index.split(".")
    if not parts or not all(p.isdigit() for p in parts) or int(parts[0]) != len(parts) - 1:
        return None
    return bytes(int(p) for p in parts[1:] if int(p) < 256).decode("utf-8", "replace")


def wlan_facts(aps: list[AccessPointFacts], radios: list[RadioFacts],
               station_aps: Iterable[str | None] | None, ssids: Iterable[str],
               device_total: int | None = None) -> WlanFacts:
    """Put APs, radios and stations together into `WlanFacts`.

    Args:
        aps: the APs with `clients` 0 (filled in here).
        radios: their radios; a radio's `clients` (when known) counts for its AP.
        station_aps: per associated station, the key of its AP (None: unknown AP);
            None when the station table was not answered.
        ssids: SSID names (duplicates and empty ones are dropped).
        device_total: the device's own count of associated clients, where its MIB has
            one (it wins: a station table may hold stations the device no longer counts).
    """
    by_radio: Counter[str] = Counter()
    radio_known: set[str] = set()
    for radio in radios:
        if radio.clients is not None:
            by_radio[radio.ap] += radio.clients
            radio_known.add(radio.ap)
    stations = list(station_aps) if station_aps is not None else None
    by_station = Counter(key for key in stations or () if key is not None)
    counted = [
        AccessPointFacts(ap.key, ap.name, ap.status,
                         by_radio[ap.key] if ap.key in radio_known else by_station[ap.key],
                         ap.model, ap.address)
        for ap in aps]
    if device_total is not None:
        total: int | None = device_total
    elif stations:
        total = len(stations)
    elif counted and (radio_known or stations is not None):
        total = sum(ap.clients for ap in counted)
    else:
        total = None
    names = tuple(dict.fromkeys(s for s in ssids if s))
    return WlanFacts(clients_total=total, aps=tuple(counted), radios=tuple(radios),
                     ssids=names)


# --- Aruba WLSX-WLAN-MIB -------------------------------------------------------------
_ARUBA = "1.3.6.1.4.1.14823.2.2.1"
AR_AP_IP, AR_AP_NAME, AR_AP_MODEL, AR_AP_STATUS = (f"{_ARUBA}.5.2.1.4.1.2", f"{_ARUBA}.5.2.1.4.1.3",
                                                   f"{_ARUBA}.5.2.1.4.1.13",
                                                   f"{_ARUBA}.5.2.1.4.1.19")
AR_RADIO_CHANNEL, AR_RADIO_CLIENTS, AR_RADIO_BSSIDS = (f"{_ARUBA}.5.2.1.5.1.3",
                                                       f"{_ARUBA}.5.2.1.5.1.7",
                                                       f"{_ARUBA}.5.2.1.5.1.9")
AR_BSSID_ESSID = f"{_ARUBA}.5.2.1.7.1.2"
AR_ESSID_STATIONS = f"{_ARUBA}.5.2.1.8.1.2"
AR_STA_BSSID, AR_STA_ASSOCIATED = f"{_ARUBA}.5.2.2.1.1.2", f"{_ARUBA}.5.2.2.1.1.5"
AR_USER_AP_BSSID = f"{_ARUBA}.4.1.2.1.11"
AR_WLAN_TOTAL_STATIONS = f"{_ARUBA}.5.2.1.2.0"  # wlsxWlanTotalNumStationsAssociated
# WLSX-SWITCH-MIB wlsxSwitchTotalNumStationsAssociated
AR_SWITCH_TOTAL_STATIONS = f"{_ARUBA}.1.3.2.0"


def _aruba_radios(reader: Reader, names: dict[str, str]) -> list[RadioFacts]:
    channels, clients = reader.numbers(AR_RADIO_CHANNEL), reader.numbers(AR_RADIO_CLIENTS)
    bssids = reader.numbers(AR_RADIO_BSSIDS)
    radios = []
    for index in sorted(set(channels) | set(clients)):
        ap_key, _, number = index.rpartition(".")
        active = bssids.get(index)
        radios.append(RadioFacts(
            ap=mac_index(ap_key) if ap_key else index, index=number,
            status=None if active is None else ("up" if active > 0 else "down"),
            channel=channels.get(index), clients=clients.get(index)))
    return radios


def _read_aruba(reader: Reader, draft: Draft, role: str) -> None:
    names, status = reader.texts(AR_AP_NAME), reader.numbers(AR_AP_STATUS)
    models, addresses = reader.texts(AR_AP_MODEL), reader.texts(AR_AP_IP)
    aps = [AccessPointFacts(mac_index(k), names.get(k) or mac_index(k),
                            UP_DOWN.get(status.get(k, 0)), 0, models.get(k), addresses.get(k))
           for k in sorted(set(names) | set(status))]
    essids = reader.texts(AR_BSSID_ESSID)
    # A BSSID table index is AP MAC (6 arcs) . radio (1) . BSSID (6 arcs).
    bssid_ap = {mac_index(".".join(i.split(".")[7:])): mac_index(".".join(i.split(".")[:6]))
                for i in essids if len(i.split(".")) == 13}
    stations = reader.column(AR_STA_ASSOCIATED)
    sta_bssid = reader.macs(AR_STA_BSSID)
    user_bssid = reader.macs(AR_USER_AP_BSSID)
    station_aps: list[str | None] | None = None
    if sta_bssid:
        station_aps = [bssid_ap.get(sta_bssid.get(i, "")) for i in stations]
    elif stations and user_bssid:
        by_mac: dict[str, str | None] = {}
        for index, bssid in user_bssid.items():  # user index: MAC (6 arcs) . IP (4 arcs)
            by_mac[".".join(index.split(".")[:6])] = bssid_ap.get(bssid)
        station_aps = [by_mac.get(i) for i in stations]
    elif stations:
        station_aps = [None for _ in stations]
    ssids = list(essids.values()) or [s for s in (_octets_index(i) for i in
                                                  reader.column(AR_ESSID_STATIONS)) if s]
    total = _optional_number(reader, AR_SWITCH_TOTAL_STATIONS)
    if total is None:
        total = _optional_number(reader, AR_WLAN_TOTAL_STATIONS)
    draft.set("wlan", wlan_facts(aps, _aruba_radios(reader, names), station_aps, ssids, total))


def _optional_number(reader: Reader, oid: str) -> int | None:
    # A scalar some firmware lacks: its absence is not odd, a wrong type is.
    if reader.data.scalars.get(oid) is None:
        return None
    return reader.scalar_number(oid)


ARUBA_WLAN = Section(
    "WLSX-WLAN-MIB", "Aruba WLSX-WLAN-MIB (1.3.6.1.4.1.14823.2.2.1.5), WLSX-USER-MIB nUserApBSSID, "
    "WLSX-SWITCH-MIB wlsxSwitchTotalNumStationsAssociated",
    (AR_SWITCH_TOTAL_STATIONS, AR_WLAN_TOTAL_STATIONS),
    (AR_AP_NAME, AR_AP_IP, AR_AP_MODEL, AR_AP_STATUS, AR_RADIO_CHANNEL, AR_RADIO_CLIENTS,
     AR_RADIO_BSSIDS, AR_BSSID_ESSID, AR_ESSID_STATIONS, AR_STA_ASSOCIATED, AR_STA_BSSID,
     AR_USER_AP_BSSID),
    _read_aruba)


# --- Aruba Instant AI-AP-MIB (1.3.6.1.4.1.14823.2.3.3.1) ---------------------------
_AI = "1.3.6.1.4.1.14823.2.3.3.1.2"
AI_AP_NAME, AI_AP_IP, AI_AP_MODEL, AI_AP_STATUS = (f"{_AI}.1.1.2", f"{_AI}.1.1.3",
                                                   f"{_AI}.1.1.6", f"{_AI}.1.1.11")
AI_RADIO_CHANNEL, AI_RADIO_STATUS = f"{_AI}.2.1.4", f"{_AI}.2.1.20"
AI_WLAN_ESSID, AI_CLIENT_AP_IP = f"{_AI}.3.1.3", f"{_AI}.4.1.4"


def _leading_number(text: str | None) -> int | None:
    digits = ""
    for ch in (text or "").strip():  # Instant writes channels as "36E", "6+", "149S"
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else None


def _read_aruba_instant(reader: Reader, draft: Draft, role: str) -> None:
    names, status = reader.texts(AI_AP_NAME), reader.numbers(AI_AP_STATUS)
    if not names and not status:
        return  # not an Instant cluster: WLSX-WLAN-MIB (a controller) speaks instead
    models, addresses = reader.texts(AI_AP_MODEL), reader.texts(AI_AP_IP)
    aps = [AccessPointFacts(mac_index(k), names.get(k) or mac_index(k),
                            UP_DOWN.get(status.get(k, 0)), 0, models.get(k), addresses.get(k))
           for k in sorted(set(names) | set(status))]
    channels, radio_status = reader.texts(AI_RADIO_CHANNEL), reader.numbers(AI_RADIO_STATUS)
    radios = []
    for index in sorted(set(channels) | set(radio_status)):
        ap_key, _, number = index.rpartition(".")
        radios.append(RadioFacts(ap=mac_index(ap_key), index=number,
                                 status=UP_DOWN.get(radio_status.get(index, 0)),
                                 channel=_leading_number(channels.get(index))))
    # A client names its AP by IP address (aiClientAPIPAddress).
    by_ip = {ap.address: ap.key for ap in aps if ap.address}
    clients = reader.texts(AI_CLIENT_AP_IP)
    station_aps = [by_ip.get(ip) for ip in clients.values()] \
        if AI_CLIENT_AP_IP in reader.data.tables else None
    draft.fields["wlan"] = wlan_facts(aps, radios, station_aps,
                                      reader.texts(AI_WLAN_ESSID).values())


ARUBA_INSTANT = Section(
    "AI-AP-MIB", "Aruba Instant AI-AP-MIB (1.3.6.1.4.1.14823.2.3.3.1): aiAccessPointTable, "
    "aiRadioTable, aiWlanTable, aiClientTable",
    (), (AI_AP_NAME, AI_AP_IP, AI_AP_MODEL, AI_AP_STATUS, AI_RADIO_CHANNEL, AI_RADIO_STATUS,
         AI_WLAN_ESSID, AI_CLIENT_AP_IP),
    _read_aruba_instant)


# --- Ubiquiti UBNT-AirMAX-MIB --------------------------------------------------------
_UBNT = "1.3.6.1.4.1.41112.1.4"
UB_RADIO_MODE, UB_RADIO_FREQ = f"{_UBNT}.1.1.2", f"{_UBNT}.1.1.4"
UB_SSID, UB_STA_COUNT = f"{_UBNT}.5.1.2", f"{_UBNT}.5.1.15"
UB_STA_MAC = f"{_UBNT}.7.1.1"
DOT11_PRODUCT, DOT11_VERSION = "1.2.840.10036.3.1.2.1.3", "1.2.840.10036.3.1.2.1.4"
DOT11_CHANNEL = "1.2.840.10036.4.5.1.1"


def channel_of(freq_mhz: int) -> int | None:
    """The IEEE 802.11 channel of a centre frequency (2.4 and 5 GHz bands)."""
    if freq_mhz == 2484:
        return 14
    if 2412 <= freq_mhz <= 2472:
        return (freq_mhz - 2407) // 5
    if 4900 <= freq_mhz <= 5925:
        return (freq_mhz - 5000) // 5
    return None


def _read_ubiquiti(reader: Reader, draft: Draft, role: str) -> None:
    products, versions = reader.texts(DOT11_PRODUCT), reader.texts(DOT11_VERSION)
    if products:
        draft.fields["model"] = next(iter(products.values()))
    if versions:
        draft.fields["firmware"] = next(iter(versions.values()))
    name = reader.scalar_text(SYS_NAME) or "self"
    freqs, counts = reader.numbers(UB_RADIO_FREQ), reader.numbers(UB_STA_COUNT)
    dot11 = list(reader.numbers(DOT11_CHANNEL).values())
    radios = [RadioFacts(ap="self", index=index, status="up" if freq > 0 else "down",
                         channel=dot11[0] if len(dot11) == 1 else channel_of(freq),
                         band="5GHz" if freq >= 4900 else "2.4GHz",
                         clients=counts.get(index))
              for index, freq in sorted(freqs.items())]
    stations = reader.column(UB_STA_MAC)
    station_aps = ["self" for _ in stations] if UB_STA_MAC in reader.data.tables else None
    ap = AccessPointFacts("self", name, "up", 0, draft.fields.get("model"))
    draft.set("wlan", wlan_facts([ap], radios, station_aps,
                                 reader.texts(UB_SSID).values()))


UBIQUITI_WLAN = Section(
    "UBNT-AirMAX-MIB", "Ubiquiti UBNT-AirMAX-MIB (1.3.6.1.4.1.41112.1.4); IEEE802dot11-MIB",
    (), (UB_RADIO_MODE, UB_RADIO_FREQ, UB_SSID, UB_STA_COUNT, UB_STA_MAC, DOT11_PRODUCT,
         DOT11_VERSION, DOT11_CHANNEL),
    _read_ubiquiti)


# --- Ubiquiti UBNT-UniFi-MIB ----------------------------------------------------------
_UNIFI_VAP = "1.3.6.1.4.1.41112.1.6.1.2.1"
UF_VAP_CHANNEL, UF_VAP_ESSID = f"{_UNIFI_VAP}.4", f"{_UNIFI_VAP}.6"
UF_VAP_STATIONS, UF_VAP_RADIO = f"{_UNIFI_VAP}.8", f"{_UNIFI_VAP}.9"
UNIFI_BANDS = {"ng": "2.4GHz", "na": "5GHz", "6e": "6GHz"}


def _unifi_radios(reader: Reader) -> list[RadioFacts]:
    # One row per virtual AP (SSID x radio): a radio's clients are its VAPs' sum.
    radio_of = reader.texts(UF_VAP_RADIO)
    channels, stations = reader.numbers(UF_VAP_CHANNEL), reader.numbers(UF_VAP_STATIONS)
    clients: dict[str, int] = {}
    channel: dict[str, int] = {}
    for index in sorted(set(radio_of) | set(stations)):
        radio = radio_of.get(index, "?")
        clients[radio] = clients.get(radio, 0) + stations.get(index, 0)
        if index in channels:
            channel.setdefault(radio, channels[index])
    return [RadioFacts(ap="self", index=radio, status="up", channel=channel.get(radio),
                       band=UNIFI_BANDS.get(radio), clients=count)
            for radio, count in clients.items()]


def _read_unifi(reader: Reader, draft: Draft, role: str) -> None:
    products, versions = reader.texts(DOT11_PRODUCT), reader.texts(DOT11_VERSION)
    if products:
        draft.fields["model"] = next(iter(products.values()))
    if versions:
        draft.fields["firmware"] = next(iter(versions.values()))
    name = reader.scalar_text(SYS_NAME) or "self"
    ap = AccessPointFacts("self", name, "up", 0, draft.fields.get("model"))
    draft.set("wlan", wlan_facts([ap], _unifi_radios(reader), None,
                                 reader.texts(UF_VAP_ESSID).values()))


UNIFI_WLAN = Section(
    "UBNT-UniFi-MIB", "Ubiquiti UBNT-UniFi-MIB (1.3.6.1.4.1.41112.1.6) unifiVapTable; "
    "IEEE802dot11-MIB", (),
    (UF_VAP_CHANNEL, UF_VAP_ESSID, UF_VAP_STATIONS, UF_VAP_RADIO, DOT11_PRODUCT, DOT11_VERSION),
    _read_unifi)


# --- Cisco AIRESPACE-WIRELESS-MIB ----------------------------------------------------
_BSN = "1.3.6.1.4.1.14179.2"
BSN_AP_NAME, BSN_AP_STATUS, BSN_AP_MODEL, BSN_AP_IP = (f"{_BSN}.2.1.1.3", f"{_BSN}.2.1.1.6",
                                                       f"{_BSN}.2.1.1.16", f"{_BSN}.2.1.1.19")
BSN_IF_CHANNEL, BSN_IF_STATUS, BSN_IF_USERS = (f"{_BSN}.2.2.1.4", f"{_BSN}.2.2.1.12",
                                               f"{_BSN}.2.2.1.15")
BSN_STA_AP = f"{_BSN}.1.4.1.4"
BSN_SSID = f"{_BSN}.1.1.1.2"
BSN_AP_OPERATION = {1: "up", 2: "down", 3: "down"}  # associated, disassociating, downloading
BSN_IF_OPER = {1: "down", 2: "up"}


def _read_cisco_wlc(reader: Reader, draft: Draft, role: str) -> None:
    names, status = reader.texts(BSN_AP_NAME), reader.numbers(BSN_AP_STATUS)
    models, addresses = reader.texts(BSN_AP_MODEL), reader.texts(BSN_AP_IP)
    aps = [AccessPointFacts(mac_index(k), names.get(k) or mac_index(k),
                            BSN_AP_OPERATION.get(status.get(k, 0)), 0, models.get(k),
                            addresses.get(k))
           for k in sorted(set(names) | set(status))]
    channels, if_status = reader.numbers(BSN_IF_CHANNEL), reader.numbers(BSN_IF_STATUS)
    users = reader.numbers(BSN_IF_USERS, bits=32)
    radios = []
    for index in sorted(set(channels) | set(users)):
        ap_key, _, slot = index.rpartition(".")
        radios.append(RadioFacts(ap=mac_index(ap_key), index=slot,
                                 status=BSN_IF_OPER.get(if_status.get(index, 0)),
                                 channel=channels.get(index), clients=users.get(index)))
    station_ap = reader.macs(BSN_STA_AP)
    station_aps = [station_ap.get(i) for i in reader.column(BSN_STA_AP)] \
        if BSN_STA_AP in reader.data.tables else None
    draft.set("wlan", wlan_facts(aps, radios, station_aps, reader.texts(BSN_SSID).values()))


CISCO_WLAN = Section(
    "AIRESPACE-WIRELESS-MIB", "Cisco AIRESPACE-WIRELESS-MIB (1.3.6.1.4.1.14179.2)",
    (), (BSN_AP_NAME, BSN_AP_STATUS, BSN_AP_MODEL, BSN_AP_IP, BSN_IF_CHANNEL, BSN_IF_STATUS,
         BSN_IF_USERS, BSN_STA_AP, BSN_SSID),
    _read_cisco_wlc)
