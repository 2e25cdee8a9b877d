"""Enums more than one service speaks: one place for their codes and Chinese labels."""

# Grades of the classification (分类定级, domain.md §2), best first.
GRADES = {"good": "好", "fairly_good": "较好", "average": "一般", "poor": "较差"}
GRADE_RANK = {grade: rank for rank, grade in enumerate(reversed(list(GRADES)))}  # poor 0 … good 3
