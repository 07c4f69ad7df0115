# Reference numbers for tests/analysis/test_proportions_r.py (R survey package; sessionInfo in
# reference_questions_session.txt). Run from the repository root:
#   Rscript tests/analysis/results/reference_questions.R
# Reads designed_questions.csv (make_questions.py) and writes reference_questions.csv: for the
# whole sample, each agency and each period, the share of each answer among the respondents who
# answered the question (svymean / svyby of the indicator on the answering subset), its se, the
# group's df (degf of the group's subset), and svyciprop's logit and beta (Korn-Graubard) intervals.
suppressMessages(library(survey))
options(survey.lonely.psu = "adjust")
here <- "tests/analysis/results"
d <- read.csv(file.path(here, "designed_questions.csv"), colClasses = "character")
d$weight <- as.numeric(d$weight)
ind <- function(answered, value) ifelse(answered, as.numeric(value), NA)
stats <- list()
for (k in c("OVERALL", "E1_GEN")) {
  r <- suppressWarnings(as.numeric(d[[k]]))
  stats[[paste0(k, ":satisfied")]] <- ind(!is.na(r), !is.na(r) & r >= 4)
}
for (v in c("m", "f")) stats[[paste0("GENDER:", v)]] <- ind(d$GENDER != "", d$GENDER == v)
for (v in c("18-29", "30-44", "45-59", "60-plus")) {
  stats[[paste0("AGE_GROUP:", v)]] <- ind(d$AGE_GROUP != "", d$AGE_GROUP == v)
}
chosen <- strsplit(d$EXPECT, ";", fixed = TRUE)
for (v in c("staff_attitude", "simpler_procedures", "processing_time", "facilities", "online_services")) {
  stats[[paste0("EXPECT:", v)]] <- ind(d$EXPECT != "", vapply(chosen, function(x) v %in% x, TRUE))
}
for (v in c("qr", "kiosk", "paper")) stats[[paste0("channel:", v)]] <- as.numeric(d$channel == v)
stats[["verified:1"]] <- as.numeric(d$verified == "1")
names_ind <- paste0("i", seq_along(stats))
for (j in seq_along(stats)) d[[names_ind[j]]] <- stats[[j]]
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, nest = TRUE, data = d)

one <- function(group_design, group) {
  df <- degf(group_design)
  out <- NULL
  for (j in seq_along(stats)) {
    f <- as.formula(paste0("~", names_ind[j]))
    answering <- subset(group_design, !is.na(group_design$variables[[names_ind[j]]]))
    m <- svymean(f, answering)
    row <- data.frame(group = group, code = names(stats)[j], estimate = unname(coef(m)),
                      se = unname(SE(m)), df = df, n = nrow(answering$variables[answering$prob < Inf, ]))
    for (meth in c("logit", "beta")) {
      ci <- tryCatch(attr(svyciprop(f, answering, method = meth, df = df), "ci"),
                     error = function(e) c(NA, NA))
      row[[paste0(meth, "_low")]] <- unname(ci[[1]])
      row[[paste0(meth, "_high")]] <- unname(ci[[2]])
    }
    out <- rbind(out, row)
  }
  out
}

res <- one(des, "ALL")
for (a in sort(unique(d$agency))) res <- rbind(res, one(subset(des, agency == a), a))
for (p in sort(unique(d$period))) res <- rbind(res, one(subset(des, period == p), p))
# svyby on the answering subset gives the same estimates and se per agency (checked here, not only claimed)
for (j in seq_along(stats)) {
  f <- as.formula(paste0("~", names_ind[j]))
  b <- svyby(f, ~agency, subset(des, !is.na(d[[names_ind[j]]]) & agency != "A06"), svymean)
  for (i in seq_len(nrow(b))) {
    k <- res$group == b$agency[i] & res$code == names(stats)[j]
    stopifnot(abs(res$estimate[k] - coef(b)[[i]]) < 1e-12, abs(res$se[k] - SE(b)[[i]]) < 1e-12)
  }
}
write.csv(res, file.path(here, "reference_questions.csv"), row.names = FALSE)
writeLines(capture.output(sessionInfo()), file.path(here, "reference_questions_session.txt"))
