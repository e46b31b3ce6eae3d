"""nbgrader's configuration for this course (read by nbgrader and by autograder)."""

c = get_config()  # type: ignore[name-defined]  # noqa: F821  (injected by traitlets)

c.CourseDirectory.course_id = "matrix-machines"
c.CourseDirectory.root = "."
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# The student stubs that nbgrader writes in place of solutions.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# nbgrader autograde (used by the benchmark for comparison): a generous cell timeout.
c.ExecutePreprocessor.timeout = 30
