"""Adapters that take the one grading core (gradebook.py: rows judged outside the kernel) where
instructors already grade. Each module is small and knows no lab:

- records.py     grades.jsonl (every exercise's status, points and message) and totals.csv
- nbgrader.py    copies of solutions/ carrying nbgrader's cell metadata (`release --nbgrader`)
- gradescope.py  an autograder.zip whose run_autograder writes Gradescope's results.json
- lms.py         Canvas and Moodle grade-import CSVs, and a long CSV (`export`)
- classreport.py the class report, Markdown and self-contained HTML (`report`)
- shards.py      grading a class on several machines and merging the shards (`grade --shard/--merge`)
"""
