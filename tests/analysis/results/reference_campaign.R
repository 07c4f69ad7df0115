# Reference numbers for the official survey mode (issue 19): a stratified sample drawn without
# replacement (finite population correction from N_h), weights 1/pi adjusted for non-response
# within strata (campaign.csv, from make_campaign.py), then post-stratified to the frame's
# procedure-group counts (campaign_population.csv).
# Run from the repository root:  Rscript tests/analysis/results/reference_campaign.R
# Writes reference_campaign.csv. R and survey versions: reference_session.txt.
suppressMessages(library(survey))
options(survey.lonely.psu = "adjust")
here <- "tests/analysis/results"
d <- read.csv(file.path(here, "campaign.csv"), colClasses = c("character", "character", "numeric",
              "numeric", "numeric", "character", "numeric", "numeric", "numeric"))
crit <- c("E1_1", "E1_2", "E2_1")
elements <- list(E1 = c("E1_1", "E1_2"), E2 = c("E2_1"))
omega <- c(E1 = 1, E2 = 1)
for (k in crit) {
  r <- d[[k]]
  d[[paste0("a_", k)]] <- as.numeric(!is.na(r))
  d[[paste0("s_", k)]] <- as.numeric(!is.na(r) & r >= 4)
}
for (e in names(elements)) {
  ks <- elements[[e]]
  d[[paste0("a_", e)]] <- rowSums(d[paste0("a_", ks)])
  d[[paste0("s_", e)]] <- rowSums(d[paste0("s_", ks)])
}
des <- svydesign(ids = ~1, strata = ~stratum, fpc = ~N_h, weights = ~w, data = d)
pop <- read.csv(file.path(here, "campaign_population.csv"), colClasses = c("character", "numeric"))
names(pop) <- c("group", "Freq")
ps <- postStratify(des, ~group, pop)

ratios <- function(design) {
  stats <- c(crit, names(elements))
  num <- as.formula(paste("~", paste(paste0("s_", stats), collapse = "+")))
  den <- as.formula(paste("~", paste(paste0("a_", stats), collapse = "+")))
  r <- svyratio(num, den, design, covmat = TRUE)
  p <- length(stats)
  idx <- (seq_len(p) - 1) * p + seq_len(p)
  est <- coef(r)[idx]
  v <- vcov(r)[idx, idx]
  w <- c(rep(0, length(crit)), omega / sum(omega))
  data.frame(code = c(stats, "OVERALL"), estimate = c(est, sum(w * est)),
             se = c(sqrt(diag(v)), sqrt(drop(t(w) %*% v %*% w))))
}

out <- NULL
for (analysis in c("fpc", "poststratify")) {
  design <- if (analysis == "fpc") des else ps
  r <- ratios(design); r$group <- "ALL"; r$analysis <- analysis; out <- rbind(out, r)
  for (s in sort(unique(d$stratum))) {
    r <- ratios(subset(design, stratum == s)); r$group <- s; r$analysis <- analysis
    out <- rbind(out, r)
  }
}
write.csv(out, file.path(here, "reference_campaign.csv"), row.names = FALSE)
