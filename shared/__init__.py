"""What every service needs and no service owns (see docs/architecture notes in README)."""

import warnings

# eventlet (which nameko 2 is built on) warns on import that it is in maintenance mode.
# That is known and recorded in the README; it need not open every command's output.
warnings.filterwarnings("ignore", message="(?s).*Eventlet is deprecated")
