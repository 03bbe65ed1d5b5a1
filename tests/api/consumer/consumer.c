/* A program that uses an installed walkbook: open a store, record, count. */
#include <stdio.h>
#include <walkbook.h>

int main(int argc, char **argv)
{
    wb_store *store = NULL;
    uint64_t n = 0;
    int rc;
    if (argc < 2)
        return 2;
    remove(argv[1]);
    rc = wb_store_open(&store, argv[1], NULL);
    if (rc == 0)
        rc = wb_store_set_identity(store, "cfa8df1b-baf1-446b-b06c-3177063faed7",
                                   "0651e380-d556-49bd-acdd-2bd813b16430", NULL, 0);
    if (rc == 0)
        rc = wb_interaction_record(
            NULL, store,
            "{\"campaignId\":\"61fbfbaa-5de8-4d17-ac2b-c47f2376265a\",\"contactId\":"
            "\"0478dbbf-b6eb-4168-afa9-5ebab6fef4b6\",\"timestamp\":\"2018-07-17T18:40:53.526Z\","
            "\"unavailable\":false,\"survey\":{\"surveyId\":\"375d437b-3b47-4940-b43d-be8daec4afff\"}}");
    if (rc == 0)
        rc = wb_interaction_count(&n, store, NULL);
    if (rc != 0)
        fprintf(stderr, "consumer: %s\n", wb_error_last() ? wb_error_last()->message : "?");
    wb_store_free(store);
    printf("consumer: %s %llu record(s)\n", wb_version(), (unsigned long long)n);
    return rc == 0 && n == 1 ? 0 : 1;
}
