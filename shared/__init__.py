"""What the services share and none of them owns.

- shared.platform:  the runtime every service process uses (config, database, outbox and
  inbox, RPC entrypoints and client, auth, metrics, the broker, migrations, the runner).
- shared.contracts: the public contract (schemas of every RPC and event, state machines)
  and the generators of docs/contract.md, docs/asyncapi.json and the JSON schemas.
- shared.national:  national codes, pure: place codes and the place tree, identity
  numbers, unified social credit codes.
- shared.domain:    pure building blocks of the services' domain modules (events, rates).
- shared.errors:    the typed errors every part raises and every caller catches.

What each may import is written in README.md ("Layout") and held by
tests/unit/test_architecture.py.
"""

import warnings

# eventlet (which nameko 2 is built on) warns on import that it is in maintenance mode.
# That is known and recorded in the README; it need not open every command's output.
warnings.filterwarnings("ignore", message="(?s).*Eventlet is deprecated")
