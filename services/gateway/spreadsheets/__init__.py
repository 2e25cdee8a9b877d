"""xlsx in and out, with the Chinese headings organization-department staff use.

Pure functions on bytes (the HTTP gateway and the command line do the I/O):

- `parse(kind, data)`: an import file → [{"row", "values", ("errors")}] of RPC parameters
  (kinds: IMPORTS; heading tables: services/gateway/spreadsheets/columns.py);
- `template(kind)`: a blank import file with a 说明 sheet;
- `write_rows(kind, rows)`: parameter rows → an import file (parse's inverse);
- `split_params(kind, values)`: a row's values by the RPC method taking them;
- `export(report, result, title=None)`: an RPC result → a report workbook (EXPORTS;
  layouts: services/gateway/spreadsheets/reports.py).
"""

from services.gateway.spreadsheets.columns import IMPORTS, KINDS, Column, Kind
from services.gateway.spreadsheets.importing import parse, split_params, template, write_rows
from services.gateway.spreadsheets.reader import SheetLimits
from services.gateway.spreadsheets.reports import EXPORTS, export

__all__ = ["EXPORTS", "IMPORTS", "KINDS", "Column", "Kind", "SheetLimits", "export", "parse",
           "split_params", "template", "write_rows"]
