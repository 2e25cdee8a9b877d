"""National codes: place codes and the place tree (regions), citizens' identity numbers,
unified social credit codes; and the copy of the place tree every service keeps from the
organizations service's events (places, the only module here that touches a database)."""
