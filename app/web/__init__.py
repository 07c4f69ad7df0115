"""What the blueprints share, so that none imports another: the role and scope guards of every admin
and report route (`guards`), the survey form's view model drawn by the citizen form and the designer's
preview (`survey_form`), and API bearer tokens (`tokens`)."""
