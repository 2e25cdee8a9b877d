"""National codes, pure: place codes and the place tree (regions), citizens' identity
numbers, unified social credit codes. (The copy of the place tree each service keeps is
platform: shared.platform.place_copies.)"""
