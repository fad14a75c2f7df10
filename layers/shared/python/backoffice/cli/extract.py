"""``backoffice extract``: read a document, or normalize a saved Textract response, and print JSON.

    backoffice extract PATH [--type w9|coi|bank_letter|sow|invoice] [--reveal] [--settings FILE.json]
                            [--date-order DMY|MDY] [--decimal-mark .|,]
    backoffice extract --textract-response RESPONSE.json [MORE.json ...] [--type ...] [--reveal]

With ``--type`` the profile's result is printed (fields, records, status, reasons); without it, the normalized
document. The local extractor never calls AWS. ``--textract-response`` takes what AnalyzeDocument,
GetDocumentAnalysis (its pages as one JSON list, merged, or one file per page), AnalyzeExpense or
GetExpenseAnalysis returned, so users can see what this product makes of their own Textract output.

An invoice date such as 01/02/2021 (1 February or 2 January) or an amount such as 1,234 (a thousand and more,
or one and a bit) is flagged for review with both readings unless the vendor's or the entity's locale settles
it: ``--date-order`` and ``--decimal-mark`` give the locale of this document's vendor, over the settings
file's ``locale`` and ``vendor_locales``.

Tax ids and bank numbers print as their last four digits unless ``--reveal`` is given. Exit status: 0 when the
document needs nobody (or a document was printed), 1 when it needs review, OCR or could not be read, 2 for a
usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backoffice.extraction.document_types import DOCUMENT_TYPES

if TYPE_CHECKING:
    from backoffice.extraction import ExtractionResult, ExtractionSettings, NormalizedDocument

# The readers, their models and pypdf are imported when the command runs, not for ``backoffice --help``.


def add_extract_parser(subparsers: Any) -> None:
    """Register the ``extract`` sub-command on an argparse ``add_subparsers()`` object."""
    parser = subparsers.add_parser(
        "extract",
        help="read a document (or a saved Textract response) and print the result as JSON",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", nargs="?", help="a PDF (or an image, which needs OCR) to read locally")
    parser.add_argument(
        "--textract-response",
        nargs="+",
        metavar="RESPONSE.json",
        help="a saved Textract response (or its pages, one file each) to normalize instead of a document",
    )
    parser.add_argument(
        "--type", dest="document_type", choices=DOCUMENT_TYPES, help="apply this document profile"
    )
    parser.add_argument(
        "--reveal",
        action="store_true",
        help="print tax ids and bank numbers in full (default: last 4 digits)",
    )
    parser.add_argument(
        "--settings",
        metavar="FILE.json",
        help="review settings: {'thresholds': {'date': 95}, 'field_thresholds': {'w9.tin': 99.5}, 'required': {},"
        " 'locale': {'date_order': 'MDY', 'decimal_mark': '.'}, 'vendor_locales': {'Acme GmbH': {...}}}",
    )
    parser.add_argument(
        "--date-order",
        choices=("DMY", "MDY"),
        help="how this document's vendor writes dates: DMY (01/02/2021 is 1 February) or MDY (2 January)",
    )
    parser.add_argument(
        "--decimal-mark",
        choices=(".", ","),
        help="the decimal mark of this document's vendor: '.' (1,234 is 1234) or ',' (1,234 is 1.234)",
    )
    parser.set_defaults(func=cmd_extract)


def cmd_extract(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from backoffice.extraction import NormalizedDocument, extract_local, read_local_document

    if bool(args.path) == bool(args.textract_response):
        print("give either a document PATH or --textract-response RESPONSE.json", file=sys.stderr)
        return 2
    try:
        settings = _settings(args.settings, args.date_order, args.decimal_mark)
    except (OSError, ValueError, ValidationError) as error:
        print(f"the settings file cannot be used: {error}", file=sys.stderr)
        return 2
    if args.textract_response:
        output = _from_textract(args.textract_response, args.document_type, settings)
    elif args.document_type:
        output = extract_local(args.path, args.document_type, settings)
    else:
        output = read_local_document(args.path)
    _print(output, reveal=args.reveal)
    if isinstance(output, NormalizedDocument):
        return 0
    return 0 if output.status == "complete" else 1


def _settings(
    path: str | None, date_order: str | None, decimal_mark: str | None
) -> ExtractionSettings | None:
    from backoffice.extraction import DocumentLocale, ExtractionSettings

    settings = None if path is None else ExtractionSettings.model_validate(json.loads(Path(path).read_text()))
    if date_order is None and decimal_mark is None:
        return settings
    return (settings or ExtractionSettings()).with_locale(
        DocumentLocale.model_validate({"date_order": date_order, "decimal_mark": decimal_mark})
    )


def _from_textract(
    paths: list[str], document_type: str | None, settings: ExtractionSettings | None
) -> NormalizedDocument | ExtractionResult:
    from backoffice.extraction import (
        ExtractionError,
        TextractResponseError,
        apply_profile,
        error_result,
        normalize_textract_response,
    )

    try:
        loaded = [json.loads(Path(path).read_text()) for path in paths]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return error_result(
            ExtractionError(
                kind="textract_response_malformed",
                message="the Textract response file cannot be read as JSON",
                reasons=[f"{type(error).__name__}: {error}"],
            ),
            document_type,
        )
    pages: Any = (
        loaded[0]
        if len(loaded) == 1
        else [page for item in loaded for page in (item if isinstance(item, list) else [item])]
    )
    try:
        document = normalize_textract_response(pages)
    except TextractResponseError as error:
        return error_result(error.error, document_type)
    if document_type is None:
        return document
    return apply_profile(document, document_type, settings)


def _print(output: NormalizedDocument | ExtractionResult, *, reveal: bool) -> None:
    from backoffice.extraction import NormalizedDocument, document_json

    if isinstance(output, NormalizedDocument):
        data = document_json(output, reveal=reveal)
    else:
        data = output.to_json_dict(reveal_secrets=reveal)
    print(json.dumps(data, indent=2, ensure_ascii=False))
