package org.walkbook;

/**
 * Who records in a store: the customer (tenant), the user, and the security
 * groups the store may see (the first is the group new records get).
 */
public final class Identity {
    final String customerId;
    final String userId;
    final String[] securityGroupIds;

    public Identity(String customerId, String userId, String... securityGroupIds) {
        this.customerId = customerId;
        this.userId = userId;
        this.securityGroupIds = securityGroupIds == null ? new String[0] : securityGroupIds.clone();
    }

    public String customerId() { return customerId; }

    public String userId() { return userId; }

    public String[] securityGroupIds() { return securityGroupIds.clone(); }
}
