# Reference numbers for tests/analysis (R survey package, see sessionInfo in reference_session.txt).
# Run from the repository root:  Rscript tests/analysis/results/reference.R
# Writes reference.csv (indices), reference_calibrated.csv (postStratify, raking),
# reference_diff.csv (differences between domains).
suppressMessages(library(survey))
options(survey.lonely.psu = "adjust")
here <- "tests/analysis/results"
d <- read.csv(file.path(here, "designed.csv"), colClasses = "character")
d$weight <- as.numeric(d$weight)
crit <- c("E1_1", "E1_2", "E1_3", "E2_1", "E2_2", "E3_1", "E3_2")
elements <- list(E1 = c("E1_1", "E1_2", "E1_3"), E2 = c("E2_1", "E2_2"), E3 = c("E3_1", "E3_2"))
omega <- c(E1 = 1, E2 = 1, E3 = 2)
for (k in crit) {
  r <- suppressWarnings(as.numeric(d[[k]]))
  d[[paste0("a_", k)]] <- as.numeric(!is.na(r))
  d[[paste0("s_", k)]] <- as.numeric(!is.na(r) & r >= 4)
  d[[paste0("m_", k)]] <- ifelse(is.na(r), 0, (r - 1) / 4)
  d[[paste0("ind_", k)]] <- ifelse(is.na(r), NA, as.numeric(r >= 4))
  d[[paste0("sc_", k)]] <- ifelse(is.na(r), NA, (r - 1) / 4)
}
for (e in names(elements)) {
  ks <- elements[[e]]
  d[[paste0("a_", e)]] <- rowSums(d[paste0("a_", ks)])
  d[[paste0("s_", e)]] <- rowSums(d[paste0("s_", ks)])
  d[[paste0("m_", e)]] <- rowSums(d[paste0("m_", ks)])
}
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, nest = TRUE, data = d)

# ratios of every statistic: criteria, elements, overall (svycontrast of element ratios)
ratios <- function(design, prefix) {
  stats <- c(crit, names(elements))
  num <- as.formula(paste("~", paste(paste0(prefix, stats), collapse = "+")))
  den <- as.formula(paste("~", paste(paste0("a_", stats), collapse = "+")))
  r <- svyratio(num, den, design, covmat = TRUE)
  p <- length(stats)
  idx <- (seq_len(p) - 1) * p + seq_len(p)  # diagonal: Y_j / X_j
  est <- coef(r)[idx]
  v <- vcov(r)[idx, idx]
  w <- c(rep(0, length(crit)), omega / sum(omega))
  ov <- sum(w * est)
  ov_se <- sqrt(drop(t(w) %*% v %*% w))
  data.frame(code = c(stats, "OVERALL"),
             level = c(rep("criterion", length(crit)), rep("element", length(elements)), "overall"),
             estimate = c(est, ov), se = c(sqrt(diag(v)), ov_se))
}

manual_ci <- function(p, se, df, n, level = 0.95) {
  t <- qt(1 - (1 - level) / 2, df)
  lg <- log(p / (1 - p)); h <- t * se / (p * (1 - p))
  m <- p * (1 - p) / se^2
  den <- 1 + t^2 / m
  ctr <- (p + t^2 / (2 * m)) / den
  hw <- t * sqrt(p * (1 - p) / m + t^2 / (4 * m^2)) / den
  alpha <- 1 - level
  mk <- m * (qt(alpha / 2, n - 1) / qt(alpha / 2, df))^2
  data.frame(logit_low = plogis(lg - h), logit_high = plogis(lg + h),
             wald_low = p - t * se, wald_high = p + t * se,
             wilson_low = ctr - hw, wilson_high = ctr + hw,
             kg_low = qbeta(alpha / 2, mk * p, mk * (1 - p) + 1),
             kg_high = qbeta(1 - alpha / 2, mk * p + 1, mk * (1 - p)))
}

count_n <- function(dd, code) {
  if (code %in% crit) return(sum(dd[[paste0("a_", code)]] > 0))
  if (code == "OVERALL") return(sum(rowSums(dd[paste0("a_", crit)]) > 0))
  sum(dd[[paste0("a_", code)]] > 0)
}

one_domain <- function(design, group) {
  df <- degf(design)
  out <- NULL
  for (measure in c("satisfied", "mean-score")) {
    prefix <- if (measure == "satisfied") "s_" else "m_"
    r <- ratios(design, prefix)
    r$n <- sapply(r$code, function(k) count_n(design$variables, k))
    r$df <- df
    r <- cbind(r, manual_ci(r$estimate, r$se, df, r$n))
    r$measure <- measure
    r$group <- group
    # criteria intervals straight from svyciprop (independent of manual_ci)
    for (i in seq_along(crit)) {
      k <- crit[i]
      sub <- subset(design, !is.na(design$variables[[paste0(if (measure == "satisfied") "ind_" else "sc_", k)]]))
      f <- as.formula(paste0("~", if (measure == "satisfied") "ind_" else "sc_", k))
      for (meth in c("logit", "mean", "beta")) {
        ci <- attr(svyciprop(f, sub, method = meth, df = df), "ci")
        col <- c(logit = "logit", mean = "wald", beta = "kg")[[meth]]
        r[i, paste0(col, "_low")] <- ci[[1]]
        r[i, paste0(col, "_high")] <- ci[[2]]
      }
    }
    out <- rbind(out, r)
  }
  out
}

res <- one_domain(des, "ALL")
for (a in sort(unique(d$agency))) {
  if (a == "A06") next  # tiny agency checked separately (E3_2 has no answers)
  res <- rbind(res, one_domain(subset(des, agency == a), a))
}
write.csv(res, file.path(here, "reference.csv"), row.names = FALSE)

# tiny agency: estimates and se of the criteria it answered (E3_2 is empty)
tiny <- subset(des, agency == "A06")
tk <- c("E1_1", "E1_2", "E1_3", "E2_1", "E2_2", "E3_1")
tr <- svyratio(as.formula(paste("~", paste(paste0("s_", tk), collapse = "+"))),
               as.formula(paste("~", paste(paste0("a_", tk), collapse = "+"))), tiny, covmat = TRUE)
idx <- (seq_along(tk) - 1) * length(tk) + seq_along(tk)
write.csv(data.frame(code = tk, estimate = coef(tr)[idx], se = sqrt(diag(vcov(tr)))[idx],
                     df = degf(tiny)), file.path(here, "reference_tiny.csv"), row.names = FALSE)

# calibration: post-stratification on agency totals, raking on agency + channel
pop <- read.csv(file.path(here, "population.csv"), colClasses = c("character", "numeric"))
names(pop) <- c("agency", "Freq")
ps <- postStratify(des, ~agency, pop)
popc <- read.csv(file.path(here, "population_channel.csv"), colClasses = c("character", "numeric"))
names(popc) <- c("channel", "Freq")
agency_totals <- setNames(pop$Freq, paste0("agency", pop$agency))
channel_totals <- setNames(popc$Freq, paste0("channel", popc$channel))
# calibrate() needs the full model matrix totals: intercept, agency (minus first), channel (minus first)
tot <- c(`(Intercept)` = sum(pop$Freq), agency_totals[-1], channel_totals[-1])
rk <- calibrate(des, ~agency + channel, population = tot, calfun = "raking", epsilon = 1e-12, maxit = 200)
cal <- NULL
for (name in c("poststratify", "rake")) {
  design <- if (name == "poststratify") ps else rk
  r <- ratios(design, "s_"); r$group <- "ALL"; r$analysis <- name; cal <- rbind(cal, r)
  for (a in c("A01", "A03", "A05")) {
    r <- ratios(subset(design, agency == a), "s_"); r$group <- a; r$analysis <- name
    cal <- rbind(cal, r)
  }
}
write.csv(cal, file.path(here, "reference_calibrated.csv"), row.names = FALSE)
write.csv(data.frame(response_id = d$response_id, ps = weights(ps), rake = weights(rk)),
          file.path(here, "reference_weights.csv"), row.names = FALSE)

# differences: A01 - A02 (svyby covmat + svycontrast), A01 - whole population, 2026 - 2025
diffs <- NULL
for (k in c("E1_1", "E3_1")) {
  b <- svyby(as.formula(paste0("~s_", k)), ~agency, subset(des, agency != "A06"), svyratio,
             denominator = as.formula(paste0("~a_", k)), covmat = TRUE)
  ct <- svycontrast(b, c(A01 = 1, A02 = -1, A03 = 0, A04 = 0, A05 = 0))
  diffs <- rbind(diffs, data.frame(contrast = "A01-A02", code = k, estimate = coef(ct),
                                   se = sqrt(vcov(ct)[1, 1])))
  d$yA <- d[[paste0("s_", k)]] * (d$agency == "A01"); d$xA <- d[[paste0("a_", k)]] * (d$agency == "A01")
  d$y <- d[[paste0("s_", k)]]; d$x <- d[[paste0("a_", k)]]
  des2 <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, nest = TRUE, data = d)
  r <- svyratio(~yA + y, ~xA + x, des2, covmat = TRUE)
  ct <- svycontrast(r, c(1, 0, 0, -1))
  diffs <- rbind(diffs, data.frame(contrast = "A01-ALL", code = k, estimate = coef(ct),
                                   se = sqrt(vcov(ct)[1, 1])))
  ps2 <- postStratify(des2, ~agency, pop)
  ct <- svycontrast(svyratio(~yA + y, ~xA + x, ps2, covmat = TRUE), c(1, 0, 0, -1))
  diffs <- rbind(diffs, data.frame(contrast = "A01-ALL poststratified", code = k,
                                   estimate = coef(ct), se = sqrt(vcov(ct)[1, 1])))
  # svyby() fails on this calibrated design, so the two domains are explicit ratios
  ps2 <- update(ps2, yB = get(paste0("s_", k)) * (agency == "A02"),
                xB = get(paste0("a_", k)) * (agency == "A02"))
  ct <- svycontrast(svyratio(~yA + yB, ~xA + xB, ps2, covmat = TRUE), c(1, 0, 0, -1))
  diffs <- rbind(diffs, data.frame(contrast = "A01-A02 poststratified", code = k,
                                   estimate = coef(ct), se = sqrt(vcov(ct)[1, 1])))
  b <- svyby(as.formula(paste0("~s_", k)), ~period, des, svyratio,
             denominator = as.formula(paste0("~a_", k)), covmat = TRUE)
  ct <- svycontrast(b, c(-1, 1))
  diffs <- rbind(diffs, data.frame(contrast = "2026-2025", code = k, estimate = coef(ct),
                                   se = sqrt(vcov(ct)[1, 1])))
}
write.csv(diffs, file.path(here, "reference_diff.csv"), row.names = FALSE)
writeLines(capture.output(sessionInfo()), file.path(here, "reference_session.txt"))
