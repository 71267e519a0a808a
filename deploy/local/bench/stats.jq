# `make bench`: what summary.jq and write-cost.jq both compute over rounds.

# The median of an array of numbers: the middle one, or the mean of the
# middle two; null for none.
def median:
  sort | if length == 0 then null
         elif length % 2 == 1 then .[(length - 1) / 2]
         else (.[length / 2 - 1] + .[length / 2]) / 2 end;
