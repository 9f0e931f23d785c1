"""What a plan file really is, from its bytes, whatever its name says.

People save plans from Excel, LibreOffice, web portals and mail attachments; the
name's extension is often wrong (an HTML page saved as `.xls`, a CSV renamed to
`.xlsx`). The content decides: a ZIP package is looked into (OOXML: ECMA-376 part 2;
OpenDocument: ODF 1.2 part 3, whose `mimetype` member should come first but is
found wherever it is), an OLE2 compound file (MS-CFB) is told apart by its streams
(`Workbook`: Excel 97-2003; `EncryptedPackage`: a password-protected OOXML file,
MS-OFFCRYPTO), and text is CSV unless it is markup. Only this module imports olefile.
"""

from __future__ import annotations

import codecs
import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

import olefile

from provisioner.errors import InvalidInputError, Problem

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
SAVE_AS = "open it in Excel or LibreOffice and save it as .xlsx (Excel-Arbeitsmappe) or as CSV"
PASSWORD_HELP = (
    "the workbook is password-protected (encrypted), so nobody can read it without the "
    "password: remove the protection and import it again (Excel: Datei > Informationen > "
    "Arbeitsmappe schützen > Mit Kennwort verschlüsseln, clear the password, save; "
    "LibreOffice: Datei > Speichern unter, untick 'Mit Kennwort speichern')"
)
# The format each extension promises, to say when a file is not what its name says.
_PROMISED = {".csv": "CSV", ".txt": "CSV", ".tsv": "CSV", ".xlsx": "XLSX", ".xlsm": "XLSM",
             ".xlsb": "XLSB", ".xls": "XLS", ".ods": "ODS"}
_WORKBOOK_FORMATS = frozenset({"XLSX", "XLSM", "XLSB", "XLS", "ODS"})


@dataclass(frozen=True)
class FileKind:
    """A plan file's real format and what to tell about its name.

    Attributes:
        format: `CSV` or a workbook format (`XLSX`, `XLSM`, `XLSB`, `XLS`, `ODS`).
        notice: set when the name promises another format than the content has.
    """

    format: str
    notice: str | None = None

    @property
    def is_workbook(self) -> bool:
        """Whether a spreadsheet library reads it (else it is CSV text)."""
        return self.format in _WORKBOOK_FORMATS


def refuse(name: str, message: str) -> InvalidInputError:
    """The error for a file that cannot be read at all: one problem naming the file."""
    return InvalidInputError(name, [Problem(name, message)])


def identify(data: bytes, name: str) -> FileKind:
    """Tell what a plan file is from its content.

    Args:
        data: the file's bytes.
        name: the file name (its extension only makes the notice).

    Returns:
        The format to read it as, with a notice if the name says otherwise.

    Raises:
        InvalidInputError: the file is empty, encrypted, or not a spreadsheet or CSV
            (an HTML page, a PDF, a Word document ...); the message names what it is
            and what to do.
    """
    if not data.strip():
        raise refuse(name, "the file is empty; export the plan again")
    if data.startswith(_OLE_MAGIC):
        found = _ole_format(data, name)
    elif data.startswith(_ZIP_MAGICS):
        found = _zip_format(data, name)
    else:
        _refuse_other_text(data, name)
        found = "CSV"
    return FileKind(found, _mismatch(name, found))


def _mismatch(name: str, found: str) -> str | None:
    suffix = PurePath(name).suffix.lower()
    promised = _PROMISED.get(suffix)
    if promised is None or promised == found or {promised, found} == {"XLSX", "XLSM"}:
        return None
    what = "CSV text" if found == "CSV" else f"an {found} workbook"
    return f"the file is named {suffix} but is {what}; read as {found}"


def _ole_format(data: bytes, name: str) -> str:
    """XLS, or a refusal naming what else the OLE2 compound file is."""
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            streams = {"/".join(path) for path in ole.listdir(streams=True, storages=False)}
    except (OSError, ValueError, IndexError, KeyError) as exc:  # olefile's own errors
        raise refuse(name, f"the file is a damaged Office file ({exc}); {SAVE_AS}") from exc
    if "EncryptedPackage" in streams or "EncryptionInfo" in streams:
        raise refuse(name, PASSWORD_HELP)
    if "Workbook" in streams or "Book" in streams:
        return "XLS"
    if "WordDocument" in streams:
        raise refuse(name, "the file is a Word document (.doc), not a spreadsheet: copy the "
                           "table into a spreadsheet program and save it as .xlsx or CSV")
    raise refuse(name, "the file is an Office file without a workbook in it (a "
                       f"{', '.join(sorted(streams)[:3]) or 'empty'} container); {SAVE_AS}")


def ole_stream(data: bytes, stream: str) -> bytes:
    """A stream of an OLE2 compound file (`Workbook` of an XLS), b"" if it has none.

    Raises:
        OSError, ValueError: the container is damaged.
    """
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        return ole.openstream(stream).read() if ole.exists(stream) else b""


def _zip_format(data: bytes, name: str) -> str:
    """The workbook format of a ZIP package, or a refusal naming what it holds."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = (archive.read("mimetype")[:100].decode("ascii", "replace").strip()
                        if "mimetype" in names else "")
            if not mimetype and "META-INF/manifest.xml" in names:
                manifest = archive.read("META-INF/manifest.xml")
                mimetype = _ODS_MIME if _ODS_MIME.encode() in manifest else "opendocument"
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise refuse(name, f"the file is a damaged ZIP package ({exc}), not a readable "
                           f"workbook; {SAVE_AS}") from exc
    if mimetype.startswith(_ODS_MIME):
        return "ODS"
    if "opendocument" in mimetype:
        raise refuse(name, f"the file is an OpenDocument file but not a spreadsheet "
                           f"({mimetype}): copy the table into LibreOffice Calc and save it "
                           "as .ods, .xlsx or CSV")
    if "xl/workbook.bin" in names:
        return "XLSB"
    if "xl/workbook.xml" in names or any(n.startswith("xl/") for n in names):
        return "XLSM" if "xl/vbaProject.bin" in names else "XLSX"
    if "word/document.xml" in names:
        raise refuse(name, "the file is a Word document (.docx), not a spreadsheet: copy the "
                           "table into a spreadsheet program and save it as .xlsx or CSV")
    raise refuse(name, f"the file is a ZIP archive that holds no spreadsheet; {SAVE_AS}")


def _text_head(data: bytes) -> str:
    """The start of a text file, lower case, for telling markup from CSV."""
    head = data[:2048]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head.decode("utf-16", "replace")
    else:
        text = head.decode("utf-8", "replace")
    return text.lstrip("\ufeff \t\r\n").lower()


def _refuse_other_text(data: bytes, name: str) -> None:
    """Refuse PDFs and markup (HTML, Excel 2003 XML, flat ODS); CSV passes."""
    if data.startswith(b"%PDF"):
        raise refuse(name, "the file is a PDF, not a spreadsheet: export the plan from the "
                           "spreadsheet program as .xlsx or CSV instead")
    head = _text_head(data)
    if head.startswith(("<!doctype html", "<html", "<table", "<meta", "<head", "<body")):
        raise refuse(name, "the file is a web page (HTML), not a spreadsheet, whatever its "
                           "name says (web portals and some programs save HTML as .xls): "
                           f"{SAVE_AS}")
    if head.startswith("<?xml") or head.startswith("<"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in head:
            what = "an Excel 2003 XML spreadsheet"
        elif "opendocument" in head:
            what = "a flat OpenDocument spreadsheet (.fods)"
        elif "<html" in head:
            what = "a web page (XHTML)"
        else:
            what = "an XML file"
        raise refuse(name, f"the file is {what}, not a workbook this tool reads: {SAVE_AS}")
