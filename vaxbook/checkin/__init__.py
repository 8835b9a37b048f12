"""The day of vaccination: validating a confirmation at the centre and checking people in."""
