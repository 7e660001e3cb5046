/*
 * schedule: the monitoring schedule (the performance monitoring and
 * measurement matrix of the ISMS, DESIGN.md section 9) generated from the
 * indicator files and the `reports:` config: per indicator the entity
 * monitored, the indicator, its kind, the evaluation frequency, the
 * responsible owner, the data source, the type of report and when the
 * next report is due. Pure; any thread.
 */
#ifndef VIGIL_SCHEDULE_H
#define VIGIL_SCHEDULE_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "indicator.h"

enum vigil_schedule_format {
    VIGIL_SCHEDULE_MD,
    VIGIL_SCHEDULE_CSV,
    VIGIL_SCHEDULE_JSON,
};

/* "md", "csv", "json"; -1 for anything else. */
int vigil_schedule_format_parse(const char *s, enum vigil_schedule_format *f);

/* "15s", "5m", "1h30m", "7d". */
void vigil_schedule_format_duration(uint64_t ms, char *buf, size_t n);

/*
 * Writes the schedule of set (in file order) as of now_ms to out. cfg
 * gives the report period, due days, holidays and title. 0, or -1 on a
 * write error or out of memory.
 */
int vigil_schedule_write(const struct vigil_config *cfg,
                         const struct vigil_indicator_set *set, int64_t now_ms,
                         enum vigil_schedule_format f, FILE *out);

#endif
